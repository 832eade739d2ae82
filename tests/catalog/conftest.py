"""The catalog tests' world: the demo world (tests/support/demo_world.py) seen by the catalog."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from tests.support.catalog import CatalogWorld


@pytest.fixture(scope="module")
def world(demo_world) -> CatalogWorld:
    return CatalogWorld.of(demo_world)


@pytest.fixture
def acme_schema(db) -> Iterator[None]:
    with schema_context("acme"):
        yield
