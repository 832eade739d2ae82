"""The printable invoice: an HTML page made for printing, and the same page as a PDF.

Both are built from the ERP's data as the hub last read it (the invoice is M3's document; the
hub prints it, never changes it). WeasyPrint renders the PDF from the HTML, so there is one
layout to keep.
"""

from __future__ import annotations

from django.db import connection
from django.template.loader import render_to_string

from invoicing.models import Invoice


def invoice_html(invoice: Invoice) -> str:
    order = invoice.order
    return render_to_string(
        "invoicing/invoice_print.html",
        {
            "invoice": invoice,
            "order": order,
            "lines": list(order.lines.all()),
            "tenant_name": getattr(connection.tenant, "name", ""),
        },
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML  # heavy (pango, fonts): loaded only when a PDF is asked for

    return HTML(string=invoice_html(invoice)).write_pdf()


def pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.erp_invoice_number}-{invoice.year}.pdf"
