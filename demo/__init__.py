"""Dev-only demo set-up: the `seed_demo` command, pointing demo tenants at the sandbox.

Installed only outside production (see settings and docs/adr-0004-sandbox-package.md), so the
hub's own apps never depend on the sandbox.
"""
