"""What the tests share: helpers to import, and fixture plugins loaded by tests/conftest.py.

Nothing here is collected as a test (no `test_*.py` files).
"""
