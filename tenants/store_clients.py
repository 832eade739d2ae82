"""API2Cart clients for the platform's accounts and stores, with the shared concurrency limits
and, in production, the connect-time address check."""

from __future__ import annotations

from connectors.api2cart import Api2CartClient
from connectors.ratelimit import api2cart_limiter
from core.redis_client import shared_redis
from core.upstream_urls import upstream_address_policy
from tenants.models import Api2CartAccount, Store


def api2cart_for_account(account: Api2CartAccount) -> Api2CartClient:
    """Account-level methods (store connection, failed webhooks)."""
    return Api2CartClient(
        account.api_key,
        base_url=account.base_url,
        limiter=api2cart_limiter(shared_redis(), account.api_key),
        allow_address=upstream_address_policy(),
    )


def api2cart_for_store(store: Store) -> Api2CartClient:
    """Store-level methods; at most 5 calls in flight per store and 10 per account, hub-wide."""
    account = store.account
    return Api2CartClient(
        account.api_key,
        store.store_key,
        base_url=account.base_url,
        limiter=api2cart_limiter(shared_redis(), account.api_key, store.store_key),
        allow_address=upstream_address_policy(),
    )
