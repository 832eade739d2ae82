"""Order files (CSV, TSV, .xlsx): read within limits, mapped to fields, imported whole or not.

`reading` turns a file into rows, `mapping` says which column holds which field, `importing`
checks and writes the orders (a `CsvImport` work item), `admin` is their portal pages.
"""
