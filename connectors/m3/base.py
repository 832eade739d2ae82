"""The M3 client's core: ION OAuth2 tokens and m3api-rest v2 MI transactions
(contracts/infor-m3.md).

`execute(program, transaction, fields)` is the core: one MI transaction, its records as
`dict[str, str]` (right-trimmed, as M3 pads values). A NOK answer becomes `M3TransactionError`
naming program, transaction, field, code and M3's own message. `execute_bulk` runs several
transactions of one program in one POST, `list_for_each` one list transaction for many keys
in bulk calls, `stream` a long list as it arrives. The typed calls per concern live in the
sibling modules, combined in `client.M3Client`.

Answers are read as contract §3.4 describes them, defensively:
- an error is looked for in `results[]` *and* at the top level (a 400 may carry it there, with
  no `results`), on a 400 and on a 200 alike; its message, code and field are kept;
- flags (`wasTerminated`, `notProcessed`) are read strictly, booleans or strings ("false" is
  false), counters may be strings;
- in a bulk run, a transaction marked `notProcessed` (or missing from the answer, or counted
  by `nrOfNotProcessedTransactions`) is *not processed*: `BulkResult.processed` is False and
  it never counts as done;
- a "no rows" error (`XRE0103`) on a list transaction is an empty list.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import ijson
import requests

from connectors._http import HttpClient, Timeout, json_or_none
from connectors.errors import (
    AuthenticationError,
    M3TransactionError,
    NotFoundError,
    RetryableError,
    UpstreamError,
)
from connectors.guard import AddressPolicy
from connectors.ionapi import IonApiCredentials
from connectors.m3.records import BulkResult, BulkTransaction
from connectors.m3.values import (
    Fields,
    Record,
    m3_count,
    m3_flag,
    m3_inputs,
    trimmed_record,
)

M3_REST_PATH = "M3/m3api-rest/v2/execute"
# "Record does not exist": how M3 may answer a list transaction that found nothing (§3.4).
NO_ROWS_CODES = frozenset({"XRE0103"})
BULK_READS = 100
"""Read transactions sent in one bulk call by `list_for_each`."""
LIST_PREFIXES = ("Lst", "List", "Search", "Sel")
_ERROR_KEYS = ("errorMessage", "errorCode", "errorType")


def _has_error(entry: Mapping[str, Any]) -> bool:
    return any(str(entry.get(key) or "").strip() for key in _ERROR_KEYS)


def is_list_transaction(transaction: str) -> bool:
    """`Lst*`, `Search*`, `Sel*` transactions answer with many records (contract §3.5)."""
    return transaction.startswith(LIST_PREFIXES)


def is_no_such_record(error: M3TransactionError, key_field: str) -> bool:
    """M3 saying "no such record" for the key asked for, rather than failing otherwise."""
    if error.code in NO_ROWS_CODES or error.field == key_field:
        return True
    return not error.field and "not exist" in error.message.lower()


@dataclass
class _Token:
    access_token: str
    expires_at: float
    refresh_token: str | None


class M3Base(HttpClient):
    """One tenant's M3, reached through its `.ionapi` credentials: tokens and MI calls."""

    upstream = "m3"

    def __init__(
        self,
        credentials: IonApiCredentials,
        *,
        timeout: Timeout = (5.0, 60.0),
        refresh_margin: float = 60.0,
        max_records: int = 100,
        company: str | None = None,
        division: str | None = None,
        lmts_style: Literal["epoch_ms", "timestamp"] = "epoch_ms",
        session: requests.Session | None = None,
        allow_address: AddressPolicy | None = None,
    ) -> None:
        super().__init__(
            credentials.api_url(M3_REST_PATH),
            timeout=timeout,
            session=session,
            extra_origins=[credentials.token_url],
            allow_address=allow_address,
        )
        self.credentials = credentials
        self.refresh_margin = refresh_margin
        self.max_records = max_records
        self.company = company
        self.division = division
        self.lmts_style = lmts_style
        self.session.headers["Accept"] = "application/json"
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    # Generic MI calls

    def execute(
        self,
        program: str,
        transaction: str,
        fields: Fields | None = None,
        *,
        max_records: int | None = None,
        return_columns: Sequence[str] = (),
        exclude_empty: bool = False,
        as_list: bool | None = None,
    ) -> list[Record]:
        """Run one MI transaction and return its records (empty list when none).

        `as_list` (default: the transaction's name says `Lst*`/`Search*`/`Sel*`) turns a
        "no rows" error such as `XRE0103` into an empty list.
        """
        matrix = self._matrix(max_records, return_columns, exclude_empty)
        path = f"{quote(program, safe='')}/{quote(transaction, safe='')}{matrix}"
        response = self._authorized("GET", self.url(path), params=m3_inputs(fields))
        body = json_or_none(response)
        if as_list is None:
            as_list = is_list_transaction(transaction)
        try:
            if response.status_code == 400 and isinstance(body, dict):
                raise self._first_error(body, program, transaction, response.status_code)
            if response.status_code >= 400:
                raise self._http_failure(response, program, transaction)
            if not isinstance(body, dict):
                raise RetryableError(
                    f"{program}/{transaction} answered without a JSON body", upstream=self.upstream
                )
            return self._records_of(body, program, transaction, response.status_code)
        except M3TransactionError as exc:
            if as_list and exc.code in NO_ROWS_CODES:
                return []
            raise

    def _records_of(
        self, body: Mapping[str, Any], program: str, transaction: str, status: int
    ) -> list[Record]:
        """The records of a 200 answer, or the error it carries (in `results` or at the top)."""
        terminated, failed, not_processed = self._envelope_flags(body, program, transaction)
        results = self._results(body, program, transaction)
        if failed or terminated or _has_error(body) or any(_has_error(r) for r in results):
            raise self._first_error(body, program, transaction, status)
        if not_processed or any(self._flag(r, "notProcessed", program) for r in results):
            raise RetryableError(
                f"{program}/{transaction} was not processed by M3", upstream=self.upstream
            )
        return [trimmed_record(r) for result in results for r in result.get("records") or []]

    def execute_one(
        self,
        program: str,
        transaction: str,
        fields: Fields | None = None,
        *,
        return_columns: Sequence[str] = (),
    ) -> Record | None:
        """A `Get*` transaction: its single record, or None when M3 returned none."""
        records = self.execute(
            program,
            transaction,
            fields,
            max_records=1,
            return_columns=return_columns,
            as_list=False,
        )
        return records[0] if records else None

    def execute_bulk(
        self,
        program: str,
        transactions: Iterable[BulkTransaction],
        *,
        max_records: int | None = None,
    ) -> list[BulkResult]:
        """Several transactions of one program in one POST; each result succeeds or fails alone."""
        batch = list(transactions)
        body = {
            "program": program,
            "transactions": [
                {
                    "transaction": t.transaction,
                    "record": m3_inputs(t.fields),
                    **({"selectedColumns": list(t.return_columns)} if t.return_columns else {}),
                }
                for t in batch
            ],
        }
        params: dict[str, Any] = {
            "maxrecs": self.max_records if max_records is None else max_records,
            "cono": self.company,
            "divi": self.division,
        }
        response = self._authorized("POST", self.base_url, params=params, json=body)
        answer = json_or_none(response)
        if response.status_code >= 400 or not isinstance(answer, dict):
            if response.status_code == 400 and isinstance(answer, dict):
                raise self._first_error(answer, program, "bulk", response.status_code)
            raise self._http_failure(response, program, "bulk")
        terminated, _, not_processed = self._envelope_flags(answer, program, "bulk")
        raw = self._results(answer, program, "bulk")
        if not raw and _has_error(answer):
            raise self._first_error(answer, program, "bulk", response.status_code)
        stopped_by = None
        if terminated:
            stopped_by = M3TransactionError(
                str(answer.get("terminationReason") or "bulk run terminated").strip(),
                program=program,
                transaction="bulk",
                error_type=str(answer.get("terminationErrorType") or "Terminated"),
                upstream=self.upstream,
                status=response.status_code,
            )
        results: list[BulkResult] = []
        for index, sent in enumerate(batch):
            if index >= len(raw):
                # Never answered for: not processed (the run stopped before it).
                stopped = None
                if stopped_by is not None:
                    stopped = M3TransactionError(
                        stopped_by.message,
                        program=program,
                        transaction=sent.transaction,
                        error_type=stopped_by.error_type,
                        upstream=self.upstream,
                        status=response.status_code,
                    )
                results.append(BulkResult(sent.transaction, [], stopped, processed=False))
                continue
            result = raw[index]
            name = str(result.get("transaction") or sent.transaction)
            processed = not self._flag(result, "notProcessed", program)
            error = None
            if _has_error(result):
                error = self._transaction_error(result, program, name, response.status_code)
            records = [trimmed_record(r) for r in result.get("records") or []] if processed else []
            results.append(BulkResult(name, records, error, processed))
        # A count of unprocessed transactions the results do not mark: a run stops partway,
        # so the last error-free ones are the ones M3 did not get to.
        unmarked = not_processed - sum(not r.processed for r in results)
        for index in range(len(results) - 1, -1, -1):
            if unmarked <= 0:
                break
            if results[index].ok:
                results[index] = replace(results[index], processed=False, records=[])
                unmarked -= 1
        return results

    def list_for_each(
        self,
        program: str,
        transaction: str,
        key: str,
        values: Iterable[str],
        *,
        max_records: int = 0,
    ) -> dict[str, list[Record] | UpstreamError]:
        """One list transaction for each of `values` (as input `key`), `BULK_READS` to a bulk
        call instead of a call each: each value's records ("no rows" is an empty list), or the
        error M3 gave for it (refused, or not processed: read it again next time).

        `max_records` caps each transaction's rows (0: all); a list positioned at a key runs
        on past it, so a lookup by key must cap it or M3 answers the rest of the table."""
        found: dict[str, list[Record] | UpstreamError] = {}
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), BULK_READS):
            chunk = wanted[start : start + BULK_READS]
            sent = [BulkTransaction(transaction, {key: value}) for value in chunk]
            answers = self.execute_bulk(program, sent, max_records=max_records)
            for value, result in zip(chunk, answers, strict=True):
                if result.ok or (result.refused and result.error.code in NO_ROWS_CODES):
                    found[value] = result.records
                elif result.refused:
                    found[value] = result.error
                else:
                    found[value] = RetryableError(
                        f"{program}/{transaction} for {value} was not processed by M3",
                        upstream=self.upstream,
                    )
        return found

    # Streamed lists

    def stream(
        self, program: str, transaction: str, fields: Fields | None = None
    ) -> Iterator[Record]:
        """A list transaction's records (`maxrecs=0`) parsed as they arrive, never all at once.

        The answer is read the way `execute` reads it: an error in `results` or at the top
        level, or a run M3 did not process, raises once the answer is read; "no rows" is empty.
        """
        path = f"{quote(program, safe='')}/{quote(transaction, safe='')};maxrecs=0"
        response = self._authorized("GET", self.url(path), params=m3_inputs(fields), stream=True)
        with closing(response):
            if response.status_code != 200:
                body = json_or_none(response)
                if response.status_code == 400 and isinstance(body, dict):
                    error = self._first_error(body, program, transaction, response.status_code)
                    if error.code in NO_ROWS_CODES:
                        return
                    raise error
                raise self._http_failure(response, program, transaction)
            response.raw.decode_content = True
            seen = _Seen(response.raw)
            try:
                for record in ijson.items(seen, RECORD_PREFIX, use_float=False):
                    yield {k: "" if v is None else str(v).rstrip() for k, v in record.items()}
            except ijson.JSONError as exc:
                raise RetryableError(
                    f"{program}/{transaction} answered with broken JSON: {exc}",
                    upstream=self.upstream,
                ) from exc
            self._check_streamed(seen, program, transaction)

    def _check_streamed(self, seen: _Seen, program: str, transaction: str) -> None:
        """The checks `execute` makes, on what was kept of a streamed answer.

        An answer small enough to be kept whole (every error answer is) gets every check; a
        long one carried records, so only its closing flags are looked at.
        """
        if seen.whole:
            body = json.loads(bytes(seen.head))
            if not isinstance(body, dict):
                raise RetryableError(
                    f"{program}/{transaction} answered without a JSON object",
                    upstream=self.upstream,
                )
            for result in body.get("results") or []:
                if isinstance(result, dict):
                    result.pop("records", None)
            try:
                self._records_of(body, program, transaction, 200)
            except M3TransactionError as exc:
                if exc.code not in NO_ROWS_CODES:
                    raise
        elif STOPPED.search(seen.tail):
            raise RetryableError(
                f"{program}/{transaction} was not processed to the end by M3",
                upstream=self.upstream,
            )

    # Tokens

    def revoke(self) -> None:
        """Give the current token back (the SDK asks clients to revoke tokens they drop)."""
        with self._token_lock:
            token, self._token = self._token, None
        if token is None:
            return
        for value, kind in (
            (token.refresh_token, "refresh_token"),
            (token.access_token, "access_token"),
        ):
            if value:
                self.send(
                    "POST",
                    self.credentials.revoke_url,
                    data={"token": value, "token_type_hint": kind},
                    auth=(self.credentials.client_id, self.credentials.client_secret),
                )

    def access_token(self) -> str:
        """A valid bearer token, fetched or refreshed `refresh_margin` seconds before expiry."""
        with self._token_lock:
            if self._token and time.monotonic() < self._token.expires_at - self.refresh_margin:
                return self._token.access_token
            refresh = self._token.refresh_token if self._token else None
            self._token = None
            if refresh:
                try:
                    self._token = self._request_token(
                        {"grant_type": "refresh_token", "refresh_token": refresh}
                    )
                except AuthenticationError:
                    self._token = None
            if self._token is None:
                self._token = self._request_token(self._grant())
            return self._token.access_token

    def _grant(self) -> dict[str, str]:
        creds = self.credentials
        if creds.uses_password_grant:
            return {
                "grant_type": "password",
                "username": creds.service_account_key,
                "password": creds.service_account_secret,
            }
        return {"grant_type": "client_credentials"}

    def _request_token(self, form: dict[str, str]) -> _Token:
        creds = self.credentials
        data = {**form, "client_id": creds.client_id, "client_secret": creds.client_secret}
        response = self.send("POST", creds.token_url, data=data)
        body = json_or_none(response)
        if response.status_code in (400, 401, 403):
            detail = ""
            if isinstance(body, dict):
                detail = body.get("error_description") or body.get("error") or ""
            raise AuthenticationError(
                f"ION token request refused: {detail or response.status_code}",
                upstream=self.upstream,
                status=response.status_code,
                code=body.get("error") if isinstance(body, dict) else None,
                hint="ION API refused the .ionapi credentials; upload a fresh .ionapi file.",
            )
        if response.status_code >= 400:
            raise self.http_error(response, f"ION token endpoint answered {response.status_code}")
        if not isinstance(body, dict) or not body.get("access_token"):
            raise RetryableError("ION token endpoint gave no access_token", upstream=self.upstream)
        lifetime = float(body.get("expires_in") or 3600)
        return _Token(
            access_token=body["access_token"],
            expires_at=time.monotonic() + lifetime,
            refresh_token=body.get("refresh_token"),
        )

    def _authorized(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send with a bearer token; on 401 re-authenticate exactly once and resend."""
        token = self.access_token()
        response = self.send(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        if response.status_code != 401:
            return response
        with self._token_lock:
            if self._token and self._token.access_token == token:
                self._token = None
        token = self.access_token()
        response = self.send(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        if response.status_code == 401:
            raise AuthenticationError(
                "ION API refused a freshly issued token",
                upstream=self.upstream,
                status=401,
                hint="The ION app or service account lacks access to M3; check its roles.",
            )
        return response

    # Plumbing

    def _matrix(self, max_records: int | None, columns: Sequence[str], exclude_empty: bool) -> str:
        options = [f";maxrecs={self.max_records if max_records is None else max_records}"]
        if columns:
            options.append(";returncols=" + ",".join(columns))
        if exclude_empty:
            options.append(";excludempty=true")
        if self.company:
            options.append(f";cono={self.company}")
        if self.division:
            options.append(f";divi={self.division}")
        return "".join(options)

    def _envelope_flags(
        self, body: Mapping[str, Any], program: str, transaction: str
    ) -> tuple[bool, int, int]:
        """(wasTerminated, nrOfFailedTransactions, nrOfNotProcessedTransactions), read strictly."""
        try:
            return (
                m3_flag(body.get("wasTerminated")),
                m3_count(body.get("nrOfFailedTransactions")),
                m3_count(body.get("nrOfNotProcessedTransactions")),
            )
        except ValueError as exc:
            raise RetryableError(
                f"{program}/{transaction} answered an unreadable envelope ({exc})",
                upstream=self.upstream,
            ) from None

    def _flag(self, entry: Mapping[str, Any], name: str, program: str) -> bool:
        try:
            return m3_flag(entry.get(name))
        except ValueError as exc:
            raise RetryableError(
                f"{program} answered an unreadable {name} ({exc})", upstream=self.upstream
            ) from None

    def _results(
        self, body: Mapping[str, Any], program: str, transaction: str
    ) -> list[Mapping[str, Any]]:
        results = body.get("results") or []
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise RetryableError(
                f"{program}/{transaction} answered malformed results", upstream=self.upstream
            )
        return results

    def _first_error(
        self, body: Mapping[str, Any], program: str, transaction: str, status: int
    ) -> M3TransactionError:
        """The error of a NOK answer: in a result, else at the top level, else why it stopped."""
        results = body.get("results") if isinstance(body.get("results"), list) else []
        for result in results:
            if isinstance(result, dict) and _has_error(result):
                name = result.get("transaction") or transaction
                return self._transaction_error(result, program, name, status)
        if _has_error(body):
            name = body.get("transaction") or transaction
            return self._transaction_error(body, program, name, status)
        message = body.get("terminationReason") or body.get("message") or "transaction failed"
        return M3TransactionError(
            str(message).strip(),
            program=program,
            transaction=transaction,
            error_type=str(body.get("terminationErrorType") or ""),
            upstream=self.upstream,
            status=status,
        )

    def _transaction_error(
        self, result: Mapping[str, Any], program: str, transaction: str, status: int
    ) -> M3TransactionError:
        return M3TransactionError(
            str(result.get("errorMessage") or "transaction failed").strip(),
            program=program,
            transaction=str(transaction),
            field=str(result.get("errorField") or "").strip(),
            error_type=str(result.get("errorType") or "").strip(),
            code=str(result.get("errorCode") or "").strip() or None,
            upstream=self.upstream,
            status=status,
        )

    def _http_failure(
        self, response: requests.Response, program: str, transaction: str
    ) -> UpstreamError:
        error = self.http_error(
            response, f"{program}/{transaction} failed with HTTP {response.status_code}"
        )
        if isinstance(error, NotFoundError):
            error.message = f"{program}/{transaction} is not available on this ION gateway"
        return error

    # Values that depend on the tenant's M3

    def lmts(self, moment: datetime) -> str:
        """A change timestamp as `LMTS` input; its encoding is unconfirmed (contract §5.1)."""
        if moment.tzinfo is None:
            raise ValueError("LMTS needs a timezone-aware datetime")
        if self.lmts_style == "epoch_ms":
            return str(int(moment.timestamp() * 1000))
        return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]


RECORD_PREFIX = "results.item.records.item"
KEPT_BYTES = 65536
STOPPED = re.compile(
    rb'"(wasTerminated|notProcessed)"\s*:\s*"?true|"nrOfNotProcessedTransactions"\s*:\s*"?[1-9]',
    re.IGNORECASE,
)


class _Seen:
    """A file-like view of a streamed body that keeps its first and last 64 KiB."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.head = bytearray()
        self.tail = b""
        self.whole = True

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        if self.whole:
            self.head += chunk
            if len(self.head) > KEPT_BYTES:
                self.whole = False
        self.tail = (self.tail + chunk)[-KEPT_BYTES:]
        return chunk


def parsed_each(
    found: Mapping[str, list[Record] | UpstreamError], parse: Callable[[Record], Any]
) -> dict[str, Any]:
    """Each key's records parsed, or its error as it is."""
    return {
        key: value if isinstance(value, UpstreamError) else [parse(r) for r in value]
        for key, value in found.items()
    }
