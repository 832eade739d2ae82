"""SKUs of an order file that the catalog does not know, asked of the ERP while the person looks
at the file's preview.

Before anything is imported the preview lists the SKUs no catalog binding knows. A worker asks
the ERP about them (`ErpSkuCheck`, a work item: a slow or failing ERP is retried on the core's
schedule, a refusal parked with M3's words), in bulk: `MMS200MI/GetItmBasic`, `BULK_READS` SKUs
to a call. Meanwhile the preview says it is checking them, and fills in when the answers are
in: SKUs the ERP knows though no binding does (*known in the ERP, not bound*), and per order the
SKUs the ERP does not know either. Each SKU is asked once per upload, whatever mapping the
person chooses later; a SKU longer than an ERP item number is unknown without asking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.errors import UpstreamError
from core import work
from orders.models import CsvImport, ErpSkuCheck
from tenant_settings.connection_clients import erp_client

ITEM_NUMBER_LENGTH = 15
"""M3's item number (ITNO) is 15 characters at most."""


@dataclass(frozen=True)
class ErpAnswers:
    """What the ERP said so far about a file's SKUs unknown to the catalog."""

    checking: tuple[str, ...] = ()
    """SKUs asked and not answered yet."""
    known: tuple[tuple[str, str], ...] = ()
    """(SKU, the ERP item's name) for SKUs the ERP knows but no binding does."""
    unknown: frozenset[str] = frozenset()
    """SKUs the ERP does not know either."""
    not_asked: str = ""
    """Why the ERP could not be asked about some SKUs (M3's words), when it could not."""

    def unknown_by_order(
        self, skus: Iterable[tuple[str, Iterable[str]]]
    ) -> list[tuple[str, list[str]]]:
        """The orders (by number) with the SKUs of theirs the ERP does not know either, from
        (SKU, its orders) pairs."""
        by_order: dict[str, list[str]] = {}
        for sku, numbers in skus:
            if sku in self.unknown:
                for number in numbers:
                    by_order.setdefault(number, []).append(sku)
        return sorted(by_order.items())


def erp_answers(upload: CsvImport, skus: Iterable[str]) -> ErpAnswers:
    """The ERP's answers about these SKUs; the ones no check of this upload has asked yet are
    asked now (one new check, handed to a worker)."""
    wanted = list(dict.fromkeys(skus))
    checks = list(upload.erp_checks.all())
    asked = {sku for check in checks for sku in check.skus}
    new = [sku for sku in wanted if sku not in asked]
    if new:
        check = ErpSkuCheck.objects.create(upload=upload, skus=new)
        work.schedule(check)
        checks.append(check)
    known: dict[str, str] = {}
    unknown: set[str] = set()
    checking: set[str] = set()
    not_asked = ""
    for check in checks:
        known.update(check.known)
        unknown.update(check.unknown)
        open_skus = [
            sku for sku in check.skus if sku not in check.known and sku not in check.unknown
        ]
        if check.state == ErpSkuCheck.State.CHECKING:
            checking.update(open_skus)
        elif open_skus:
            not_asked = check.last_error or "the ERP did not answer"
    return ErpAnswers(
        checking=tuple(sku for sku in wanted if sku in checking),
        known=tuple((sku, known[sku]) for sku in wanted if sku in known),
        unknown=frozenset(sku for sku in wanted if sku in unknown),
        not_asked=not_asked,
    )


def is_checking(upload: CsvImport) -> bool:
    """Whether a worker is still asking the ERP about this upload's SKUs (the page polls)."""
    return upload.erp_checks.filter(state=ErpSkuCheck.State.CHECKING).exists()


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=ErpSkuCheck,
            task="orders.check_file_skus",
            work_states=(ErpSkuCheck.State.CHECKING,),
            age_field="created_at",
            max_attempts=5,
        )
    )


def run_erp_check(check_id: int) -> str:
    """One attempt at asking the ERP about a check's SKUs."""
    return work.process(ErpSkuCheck, check_id, ask_erp)


def ask_erp(check: ErpSkuCheck) -> work.Done:
    """Ask the ERP about the SKUs not answered yet, in bulk calls. Each answer is kept as it
    comes, so a call that fails (or an item M3 did not get to) is asked again on the next
    attempt, alone."""
    known, unknown = dict(check.known), list(check.unknown)
    pending = [sku for sku in check.skus if sku not in known and sku not in unknown]
    unknown += [sku for sku in pending if len(sku) > ITEM_NUMBER_LENGTH]
    asked = [sku for sku in pending if sku not in unknown]
    failure: UpstreamError | None = None
    if asked:
        for sku, item in erp_client().each_item(asked).items():
            if isinstance(item, UpstreamError):
                failure = failure or item
            elif item is None:
                unknown.append(sku)
            else:
                known[sku] = item.name
    ErpSkuCheck.objects.filter(pk=check.pk).update(known=known, unknown=unknown)
    if failure is not None:
        raise failure
    return work.Done(ErpSkuCheck.State.DONE)
