"""API tokens (hashed, shown once, revocable), activity log, login throttling, CSRF."""

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context

from tenant_settings.models import ApiToken
from tenants.activity import record_activity
from tenants.models import ActivityEvent
from tests.support.portal import Portal


def test_token_is_shown_once_stored_hashed_and_revocable(acme_admin, acme):
    with schema_context("acme"):
        user_pk = get_user_model().objects.get(username="ops@acme.test").pk
    response = acme_admin.post(
        "/admin/tenant_settings/apitoken/add/", {"name": "ERP bridge", "user": user_pk}
    )
    assert response.status_code == 200
    raw = response.context["secret"]
    assert raw.startswith("hub_") and raw.encode() in response.content

    with schema_context("acme"):
        token = ApiToken.objects.get(name="ERP bridge")
        assert raw not in (token.key_hash, token.key_prefix)
        assert token.last_used_at is None
    listing = acme_admin.get("/admin/tenant_settings/apitoken/")
    detail = acme_admin.get(f"/admin/tenant_settings/apitoken/{token.pk}/change/")
    assert raw.encode() not in listing.content + detail.content

    api = Client()
    assert (
        api.get(
            "/api/v1/me/", HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}"
        ).status_code
        == 200
    )
    with schema_context("acme"):
        token.refresh_from_db()
        assert token.last_used_at is not None
    assert ActivityEvent.objects.filter(tenant=acme, action="api_token.used").exists()

    acme_admin.post(
        "/admin/tenant_settings/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    rejected = api.get(
        "/api/v1/me/", HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert rejected.status_code == 401
    assert ActivityEvent.objects.filter(tenant=acme, action="api_token.revoked").exists()
    assert ActivityEvent.objects.filter(tenant=acme, action="api_token.rejected").exists()


def test_api_without_token_is_refused(acme):
    response = Client().get("/api/v1/me/", HTTP_HOST="acme.localhost")
    assert response.status_code == 401
    malformed = Client().get(
        "/api/v1/me/", HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION="Bearer a b"
    )
    assert malformed.status_code == 401


def test_openapi_schema_and_docs_are_served(acme):
    schema = Client().get("/api/schema/", HTTP_HOST="acme.localhost")
    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    assert Client().get("/api/docs/", HTTP_HOST="acme.localhost").status_code == 200


def test_logins_failures_and_admin_changes_are_logged(acme_admin, acme):
    Portal(Client(), "acme.localhost").login("ops@acme.test", "wrong-password")
    assert ActivityEvent.objects.filter(
        tenant=acme, action="login.failed", actor="ops@acme.test", outcome="failure"
    ).exists()
    assert ActivityEvent.objects.filter(tenant=acme, action="login", actor="ops@acme.test").exists()

    with schema_context("acme"):
        clerk = get_user_model().objects.create_user("clerk2", password="x", is_staff=True)
    acme_admin.post(
        f"/admin/auth/user/{clerk.pk}/change/",
        {
            "username": "clerk2",
            "email": "clerk2@acme.test",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    event = ActivityEvent.objects.get(tenant=acme, action="admin.change")
    assert event.object_repr == "clerk2" and event.actor == "ops@acme.test"


def test_activity_log_is_append_only(acme):
    event = ActivityEvent.objects.create(tenant=acme, action="probe")
    for statement in (
        "UPDATE tenants_activityevent SET action='x' WHERE id=%s",
        "DELETE FROM tenants_activityevent WHERE id=%s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])


def test_repeated_failed_logins_lock_the_user_out(acme, settings):
    portal = Portal(Client(), "acme.localhost")
    for _ in range(settings.HUB_LOGIN_FAILURE_LIMIT):
        portal.login("ops@acme.test", "wrong-password")
    locked = portal.login("ops@acme.test", "acme-admin-test-pw")
    assert locked.status_code == 429
    assert ActivityEvent.objects.filter(tenant=acme, action="login.locked_out").exists()
    # The lockout is per schema: globex's admin of the same name is unaffected.
    other = Portal(Client(), "globex.localhost").login("ops@globex.test", "globex-admin-test-pw")
    assert other.status_code == 302


def test_login_form_needs_a_csrf_token(acme):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/admin/login/",
        {"username": "ops@acme.test", "password": "acme-admin-test-pw"},
        HTTP_HOST="acme.localhost",
    )
    assert response.status_code == 403


@pytest.mark.e2e  # a child Python
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "real SECRET_KEY"),
        ({"SECRET_KEY": "k" * 50}, "HUB_ENCRYPTION_KEYS"),
    ],
)
def test_production_mode_refuses_to_start_without_real_keys(env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        env={
            "HUB_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "integration_hub.settings",
            "PATH": "/usr/bin:/bin",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_the_activity_log_shows_sign_ins_apart_from_changes(acme_admin, acme):
    with schema_context("acme"):
        record_activity("order.cancelled", actor="ops", message="A CHANGE")
        record_activity("login.failed", actor="ops", message="A SIGN-IN")
    changes = acme_admin.get("/admin/tenants/activityevent/?kind=changes").content
    assert b"A CHANGE" in changes and b"A SIGN-IN" not in changes
    sign_ins = acme_admin.get("/admin/tenants/activityevent/?kind=sign_ins").content
    assert b"A SIGN-IN" in sign_ins and b"A CHANGE" not in sign_ins
