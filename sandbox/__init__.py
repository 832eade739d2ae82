"""Local fakes of API2Cart, ION/M3 and ShipStation: a program of its own, not part of the hub.

It runs in its own process (`python -m sandbox serve`), keeps its own state (SQLite under
`var/sandbox/`), imports no hub code and does not use Django; the hub, the demo and the tests
talk to it over HTTP only. Why it sits beside the hub's apps: docs/adr-0004-sandbox-package.md.
The interface the fakes share is in docs/sandbox-design.md.
"""
