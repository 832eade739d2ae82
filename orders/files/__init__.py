"""Order files (CSV, TSV, .xlsx): read within limits, mapped to fields, imported order by order.

`reading` turns a file into rows, `mapping` says which column holds which field, `values` reads
values as people write them (dates, amounts, Excel's text markers, yes/no), `checking` groups
rows into orders and checks each, `importing` writes the good ones from their sales channel (a
`CsvImport` work item), `admin` is their portal pages.
"""
