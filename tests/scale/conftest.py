"""The end-to-end world of tests/pipeline (demo tenants, stores, sandbox), reused here."""

from tests.pipeline.conftest import demo_world, live_db  # noqa: F401 (fixtures)
