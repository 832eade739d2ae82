"""Order files (CSV, TSV, .xlsx): read within limits, mapped to fields, imported order by order.

`reading` turns a file into rows, `joining` makes one file of a platform's two (Etsy's orders
and order items), `layouts` and `mapping` say which column holds which field, `values` reads
values as people write them (dates, amounts, Excel's text markers, yes/no), `checking` groups
rows into orders and checks each, `importing` writes the good ones from their sales channel (a
`CsvImport` work item), `erp_check` asks the ERP about the SKUs the catalog does not know (an
`ErpSkuCheck` work item), `admin` is their portal pages.
"""
