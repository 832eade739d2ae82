"""The current tenant's ERP and ShipStation clients, built from its connection settings.

Clients are cached per process and credentials, so the M3 token is reused between tasks and a
credential change takes effect at once. Each client checks the address it connects to when
private upstreams are not allowed (`upstream_address_policy`).
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from connectors.errors import AuthenticationError
from connectors.guard import AddressPolicy
from connectors.ionapi import parse_ionapi
from connectors.m3 import M3Client
from connectors.ratelimit import shipstation_limiter
from connectors.shipstation import ShipStationClient
from core.redis_client import shared_redis
from core.upstream_urls import upstream_address_policy
from tenant_settings.models import ConnectionSettings


@lru_cache(maxsize=256)
def _m3_client(
    schema: str, ionapi: str, company: str, division: str, policy: AddressPolicy | None
) -> M3Client:
    return M3Client(
        parse_ionapi(ionapi),
        company=company or None,
        division=division or None,
        allow_address=policy,
    )


@lru_cache(maxsize=256)
def _shipstation_client(
    schema: str, base_url: str, key: str, secret: str, policy: AddressPolicy | None
) -> ShipStationClient:
    return ShipStationClient(
        key,
        secret,
        base_url=base_url,
        limiter=shipstation_limiter(shared_redis(), schema, key),
        allow_address=policy,
    )


def erp_client(settings_row: ConnectionSettings | None = None) -> M3Client:
    row = settings_row or ConnectionSettings.load()
    if not row.erp_ionapi:
        raise AuthenticationError(
            "No ERP credentials", upstream="m3", hint="Upload the tenant's .ionapi file."
        )
    return _m3_client(
        connection.schema_name,
        row.erp_ionapi,
        row.erp_company,
        row.erp_division,
        upstream_address_policy(),
    )


def shipstation_client(settings_row: ConnectionSettings | None = None) -> ShipStationClient:
    row = settings_row or ConnectionSettings.load()
    if not (row.shipstation_api_key and row.shipstation_api_secret):
        raise AuthenticationError(
            "No ShipStation credentials",
            upstream="shipstation",
            hint="Enter the ShipStation API key and secret in the connection settings.",
        )
    return _shipstation_client(
        connection.schema_name,
        row.shipstation_base_url,
        row.shipstation_api_key,
        row.shipstation_api_secret,
        upstream_address_policy(),
    )
