"""Shared steps of the order-file tests: upload a file, confirm (or change) its mapping."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from orders.files.mapping import FIELDS
from orders.models import CsvImport, Order
from orders.tasks import import_csv_file
from tests.support.portal import Portal

UPLOAD = "/admin/orders/order/upload-csv/"


def csv_file(*rows: str, header: str, name: str = "orders.csv", bom: bool = False):
    text = "\r\n".join([header, *rows]) + "\r\n"
    return SimpleUploadedFile(name, ("\ufeff" if bom else "").encode() + text.encode())


def upload(portal: Portal, file: SimpleUploadedFile):
    """Upload; returns the preview page (or the upload page again when it was refused)."""
    response = portal.post(UPLOAD, {"file": file})
    if response.status_code != 302:
        return response
    return portal.get(response.headers["Location"])


def upload_workbook(portal: Portal, file: SimpleUploadedFile, schema: str = "acme"):
    """Upload a workbook: its page waits while a worker reads it (the worker's task runs here),
    then shows the preview, which is returned."""
    reading = upload(portal, file)
    assert reading.status_code == 200, reading.content[:500]
    kept = reading.context["upload"]
    assert kept.state == CsvImport.State.READING
    with schema_context(schema):
        import_csv_file.apply(args=(kept.pk,), throw=True)
    return portal.get(reading.wsgi_request.path)


def mapping_of(preview) -> dict[str, Any]:
    """The suggested mapping on a preview page, as its form would post it."""
    form = preview.context["form"]
    return {
        name: "" if form[name].value() is None else str(form[name].value())
        for name in form.fields
        if name.startswith("field__")
    }


def field_name(path: str) -> str:
    return "field__" + path.replace(".", "__")


def confirm(portal: Portal, preview, *, columns: dict[str, int | None] | None = None, **more):
    """Post the preview's mapping, with `columns` (field path → column position) changed."""
    data = mapping_of(preview)
    for path, index in (columns or {}).items():
        data[field_name(path)] = "" if index is None else str(index)
    data.update(more)
    return portal.post(preview.wsgi_request.path, data)


def import_file(portal: Portal, file: SimpleUploadedFile, **changes: Any):
    """Upload and import with the suggested mapping; returns the answer to the import."""
    preview = upload(portal, file)
    assert preview.status_code == 200, preview.content[:500]
    return confirm(portal, preview, **changes)


def orders_of(schema: str = "acme") -> list[Order]:
    with schema_context(schema):
        return list(Order.objects.prefetch_related("lines").order_by("order_number"))


REQUIRED_PATHS = [field.path for field in FIELDS if field.required]
