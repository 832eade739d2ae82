"""The other shapes of m3api-rest v2 answers (contracts/infor-m3.md §3.4), chosen by m3 faults.

By default the fake answers in the envelope of the contract's example (errors inside `results`,
HTTP 400 for a failed single transaction, boolean flags). Infor's SDK and public clients expect
more, and these faults of the `m3` upstream make the fake answer that way (numbers, 0 = off;
`python -m sandbox faults m3 bulk_stop_after=1`, `--clear` to go back):

- `error_top_level=1`: a failed single transaction carries `errorMessage`, `errorCode`,
  `errorField` and `errorType` at the top level of the body, with no `results`.
- `error_in_200=1`: a failed single transaction answers HTTP 200 instead of 400 (the error
  inside `results[0]`, or at the top level with `error_top_level`).
- `bulk_stop_after=N`: a bulk run stops after its first N transactions; the rest are not run,
  answered as `{"transaction", "notProcessed": true}` and counted in
  `nrOfNotProcessedTransactions`, with a `bulkJobId`. `wasTerminated` stays false.
- `string_flags=1`: `wasTerminated` and `notProcessed` as "true"/"false", counters as strings.
- `no_rows_error=1`: a list transaction (`Lst*`, `Search*`, `Sel*`) that finds nothing answers
  the error `XRE0103` "Record does not exist" (simulated text) instead of an empty `records`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

ANSWER_FAULTS: dict[str, float] = {
    "error_top_level": 0,
    "error_in_200": 0,
    "bulk_stop_after": 0,
    "string_flags": 0,
    "no_rows_error": 0,
}
NO_ROWS_CODE = "XRE0103"
NO_ROWS_MESSAGE = "Record does not exist"
LIST_PREFIXES = ("Lst", "List", "Search", "Sel")
_COUNTERS = (
    "nrOfSuccessfullTransactions",
    "nrOfFailedTransactions",
    "nrOfNotProcessedTransactions",
)


@dataclass(frozen=True)
class AnswerShape:
    """How to word v2 answers right now (from the `m3` fault settings)."""

    error_top_level: bool = False
    error_in_200: bool = False
    bulk_stop_after: int = 0
    string_flags: bool = False
    no_rows_error: bool = False

    @classmethod
    def from_faults(cls, faults: dict[str, float]) -> AnswerShape:
        return cls(
            error_top_level=bool(faults.get("error_top_level")),
            error_in_200=bool(faults.get("error_in_200")),
            bulk_stop_after=int(faults.get("bulk_stop_after") or 0),
            string_flags=bool(faults.get("string_flags")),
            no_rows_error=bool(faults.get("no_rows_error")),
        )

    def answers_no_rows(self, transaction: str, records: list) -> bool:
        """Whether an empty list answer becomes the `XRE0103` error."""
        return self.no_rows_error and not records and transaction.startswith(LIST_PREFIXES)

    def stops_before(self, index: int) -> bool:
        """Whether a bulk run leaves its transaction number `index` (from 0) unprocessed."""
        return self.bulk_stop_after > 0 and index >= self.bulk_stop_after

    def single_error(
        self, envelope: dict[str, Any], error: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """(status, body) of a failed single transaction; `envelope` is the default body."""
        status = 200 if self.error_in_200 else 400
        body = dict(error) if self.error_top_level else envelope
        return status, self.flags(body)

    def flags(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with its flags and counters as strings, when `string_flags` is on."""
        if not self.string_flags:
            return body
        worded = dict(body)
        if "wasTerminated" in worded:
            worded["wasTerminated"] = _word(worded["wasTerminated"])
        for counter in _COUNTERS:
            if counter in worded:
                worded[counter] = str(worded[counter])
        if isinstance(worded.get("results"), list):
            worded["results"] = [
                {**r, "notProcessed": _word(r["notProcessed"])} if "notProcessed" in r else r
                for r in worded["results"]
            ]
        return worded


def not_processed(transaction: str) -> dict[str, Any]:
    """The result of a bulk transaction the run never got to."""
    return {"transaction": transaction, "notProcessed": True}


def bulk_job_id() -> str:
    return secrets.token_hex(8)


def _word(flag: Any) -> str:
    return "true" if flag is True or flag == "true" else "false"
