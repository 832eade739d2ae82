"""POST /webhooks/api2cart/<token>/: every refusal, duplicates, signatures, disconnection."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inbox.models import InboxItem
from inbox.signatures import webhook_signature
from inbox.webhooks import MAX_BODY_BYTES
from sandbox.api2cart import webhook_signature as sandbox_signature
from tenants.models import ActivityEvent, Store
from tests.support.stores import WEBHOOK_HOST, post_webhook

ORDER = {"id": "5001", "order_id": "NW-5001", "status": {"id": "Pending"}}


def inbox_is_empty() -> bool:
    return not InboxItem.objects.exists()


def test_event_is_stored_raw_and_acknowledged(store):
    body = json.dumps(ORDER).encode()
    response = post_webhook(store, body, entity="order", action="add")
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    item = InboxItem.objects.get()
    assert (item.source, item.store, item.entity, item.action) == ("webhook", store, "order", "add")
    assert item.entity_id == "5001"
    assert item.body == body.decode()
    assert item.state == InboxItem.State.PENDING and item.duplicates == 0
    assert item.headers["X-Webhook-Entity"] == "order"
    assert item.headers["X-Webhook-Store-Id"] == "1"


def test_whatever_watches_the_statements_sees_the_insert(store):
    """The insert skips Django's cursor wrapper only while nothing watches the statements: an
    execute wrapper (the benches count statements with one) and a query capture see it."""
    wrapped: list[str] = []

    def note(execute, sql, params, many, context):
        wrapped.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        assert post_webhook(store, {"id": "W-1"}).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert post_webhook(store, {"id": "W-2"}).status_code == 200
    # Read before the next request: Django empties the query log as a request starts.
    captured_sql = [query["sql"] for query in captured.captured_queries]
    assert post_webhook(store, {"id": "W-3"}).status_code == 200

    insert = "INSERT INTO public.inbox_inboxitem"
    assert len([sql for sql in wrapped if sql.startswith(insert)]) == 1
    # The query log holds the prepared insert without its text: Django shows None for it.
    assert len([sql for sql in captured_sql if sql is None or sql.startswith(insert)]) == 1
    assert sorted(InboxItem.objects.values_list("entity_id", flat=True)) == ["W-1", "W-2", "W-3"]


def test_trailing_slash_is_optional(store):
    response = Client().post(
        f"/webhooks/api2cart/{store.webhook_token}",
        data=json.dumps(ORDER),
        content_type="application/json",
        HTTP_HOST=WEBHOOK_HOST,
        HTTP_X_WEBHOOK_ENTITY="order",
        HTTP_X_WEBHOOK_ACTION="add",
    )
    assert response.status_code == 200
    assert InboxItem.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"order": {"id": "77", "order_id": "NW-77"}}, "77"),
        ({"data": {"order_id": "NW-78"}}, "NW-78"),
        ({"order_id": 79}, "79"),
        ({"something": "else"}, ""),
    ],
)
def test_entity_id_is_found_at_top_level_or_inside_a_wrapper(store, body, expected):
    assert post_webhook(store, body).status_code == 200
    assert InboxItem.objects.get().entity_id == expected


def test_identical_redeliveries_collapse_into_one_row(store):
    body = json.dumps(ORDER).encode()
    answers = [post_webhook(store, body).status_code for _ in range(10)]
    assert answers == [200] * 10
    item = InboxItem.objects.get()
    assert item.duplicates == 9


def test_a_changed_body_is_a_new_event(store):
    post_webhook(store, ORDER, action="update")
    post_webhook(store, {**ORDER, "status": {"id": "Shipped"}}, action="update")
    assert InboxItem.objects.filter(entity_id="5001").count() == 2


def test_unknown_token_is_404(store):
    response = post_webhook("not-a-real-token", ORDER)
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown webhook token."}
    assert inbox_is_empty()


def test_only_post_is_allowed(store):
    response = Client().get(f"/webhooks/api2cart/{store.webhook_token}/", HTTP_HOST=WEBHOOK_HOST)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "error" in response.json()
    assert inbox_is_empty()


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{not json", {}, "not valid JSON"),
        (b"\xff\xfe{}", {}, "not UTF-8"),
        (b"[1, 2, 3]", {}, "JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, {}, "nested deeper than 64 levels"),
        (b"", {}, "Empty body"),
        (json.dumps({"id": "x" * 101}).encode(), {}, "not a usable id"),
        (json.dumps({"id": {"nested": 1}}).encode(), {}, "not a string or number"),
        (json.dumps({"id": "a\u0000b"}).encode(), {}, "not a usable id"),
        (json.dumps(ORDER).encode(), {"HTTP_X_WEBHOOK_ENTITY": ""}, "Missing X-Webhook-Entity"),
        (json.dumps(ORDER).encode(), {"HTTP_X_WEBHOOK_ACTION": "a" * 40}, "X-Webhook-Action"),
        (json.dumps(ORDER).encode(), {"CONTENT_LENGTH": "many"}, "Content-Length"),
    ],
)
def test_bad_input_is_400_and_leaves_the_inbox_untouched(store, body, headers, reason):
    response = post_webhook(store, body, **headers)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert inbox_is_empty()
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


def test_body_over_one_mebibyte_is_413(store):
    body = b'{"id": "1", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = post_webhook(store, body)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert inbox_is_empty()


def test_declared_length_over_the_limit_is_refused_before_reading(store):
    response = post_webhook(store, ORDER, CONTENT_LENGTH=str(MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert inbox_is_empty()


def test_body_of_exactly_one_mebibyte_is_accepted(store):
    prefix, suffix = b'{"id": "1", "pad": "', b'"}'
    body = prefix + b"x" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(body) == MAX_BODY_BYTES
    assert post_webhook(store, body).status_code == 200
    assert InboxItem.objects.count() == 1


def test_refusals_are_logged_without_the_token(store, caplog):
    caplog.set_level("WARNING", logger="hub.webhooks")
    post_webhook(store, b"{not json")
    post_webhook("another-unknown-token", ORDER)
    messages = [r.getMessage() for r in caplog.records if r.name == "hub.webhooks"]
    assert any("400" in m and "JSON" in m for m in messages)
    assert any("404" in m for m in messages)
    assert not any(store.webhook_token in m or "another-unknown-token" in m for m in messages)


# --- signatures ---------------------------------------------------------------------------


def signed_headers(body: bytes, key: str) -> dict[str, str]:
    headers = {
        "X-Webhook-Store-Id": "1",
        "X-Webhook-Action": "add",
        "X-Webhook-Entity": "order",
        "X-Webhook-Error-Code": "0",
    }
    signature = webhook_signature(headers, body, key)
    return {"HTTP_X_WEBHOOK_SIGNATURE": signature}


def test_signature_scheme_matches_the_sandbox_emitter():
    headers = {"X-Webhook-Entity": "order", "X-Webhook-Action": "add", "X-Webhook-Store-Id": "1"}
    body = json.dumps({"id": "1", "url": "https://a.example/é"}).encode()
    assert webhook_signature(headers, body, "k") == sandbox_signature(headers, body, "k")


def test_enforce_accepts_a_valid_signature_keyed_with_the_store_secret(store):
    store.signature_mode = Store.SignatureMode.ENFORCE
    store.signature_secret = "store-secret"
    store.save()
    body = json.dumps(ORDER).encode()
    response = post_webhook(store, body, **signed_headers(body, "store-secret"))
    assert response.status_code == 200
    assert InboxItem.objects.count() == 1


def test_enforce_falls_back_to_the_account_api_key(store):
    store.signature_mode = Store.SignatureMode.ENFORCE
    store.save()
    body = json.dumps(ORDER).encode()
    response = post_webhook(store, body, **signed_headers(body, store.account.api_key))
    assert response.status_code == 200


@pytest.mark.parametrize("signature", [None, "d3Jvbmc=", "not base64 at all"])
def test_enforce_refuses_missing_or_wrong_signatures_with_401(store, signature):
    store.signature_mode = Store.SignatureMode.ENFORCE
    store.signature_secret = "store-secret"
    store.save()
    headers = {} if signature is None else {"HTTP_X_WEBHOOK_SIGNATURE": signature}
    response = post_webhook(store, ORDER, **headers)
    assert response.status_code == 401
    assert "Signature" in response.json()["error"]
    assert inbox_is_empty()


def test_enforce_refuses_a_signature_over_different_headers(store):
    store.signature_mode = Store.SignatureMode.ENFORCE
    store.save()
    body = json.dumps(ORDER).encode()
    headers = signed_headers(body, store.account.api_key)
    response = post_webhook(store, body, action="update", **headers)
    assert response.status_code == 401


def test_log_only_accepts_a_wrong_signature_and_logs_it(store, caplog):
    caplog.set_level("WARNING", logger="hub.webhooks")
    store.signature_mode = Store.SignatureMode.LOG_ONLY
    store.save()
    response = post_webhook(store, ORDER, HTTP_X_WEBHOOK_SIGNATURE="d3Jvbmc=")
    assert response.status_code == 200
    assert InboxItem.objects.count() == 1
    assert any("signature wrong" in r.getMessage() for r in caplog.records)


def test_off_ignores_signatures(store):
    assert store.signature_mode == Store.SignatureMode.OFF
    response = post_webhook(store, ORDER, HTTP_X_WEBHOOK_SIGNATURE="garbage")
    assert response.status_code == 200


# --- disconnection notice -----------------------------------------------------------------

NOTICE = {
    "HTTP_X_WEBHOOK_ERROR_CODE": "100",
    "HTTP_X_WEBHOOK_ERROR_REASON": "incorrect store key",
    "HTTP_X_WEBHOOK_ERROR_MESSAGE": "Reconnect the store with account.config.update.",
    "HTTP_X_WEBHOOK_ERROR_TRY_COUNT": "4",
}


def test_disconnection_notice_flags_the_store_logs_it_and_shows_on_the_admin_index(
    store, platform_staff
):
    response = post_webhook(store, b"", **NOTICE)
    assert response.status_code == 200
    assert inbox_is_empty()
    store.refresh_from_db()
    assert store.status == Store.Status.DISCONNECTED
    assert "incorrect store key" in store.status_message
    assert "Tries left before API2Cart disables the webhook: 4" in store.status_message
    assert store.status_changed_at is not None
    event = ActivityEvent.objects.get(action="store.disconnected")
    assert (event.object_id, event.outcome, event.tenant) == (str(store.pk), "failure", None)

    page = platform_staff.get("/admin/").content.decode()
    assert "Needs attention" in page
    assert store.display_name in page
    assert "incorrect store key" in page
    assert "?status__exact=disconnected" in page


def test_repeated_notices_log_the_disconnection_once(store):
    for tries_left in ("4", "3", "2"):
        notice = {**NOTICE, "HTTP_X_WEBHOOK_ERROR_TRY_COUNT": tries_left}
        assert post_webhook(store, b"", **notice).status_code == 200
    assert ActivityEvent.objects.filter(action="store.disconnected").count() == 1
    store.refresh_from_db()
    assert store.status_message.endswith("webhook: 2.")


def test_a_normal_event_reconnects_a_disconnected_store(store):
    post_webhook(store, b"", **NOTICE)
    assert post_webhook(store, ORDER).status_code == 200
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED
    assert store.status_message == ""
    assert ActivityEvent.objects.filter(action="store.reconnected").count() == 1
    assert InboxItem.objects.count() == 1


def test_enforce_refuses_an_unsigned_disconnection_notice(store):
    store.signature_mode = Store.SignatureMode.ENFORCE
    store.save()
    assert post_webhook(store, b"", **NOTICE).status_code == 401
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


def test_admin_index_is_calm_when_nothing_needs_attention(store, platform_staff):
    page = platform_staff.get("/admin/").content.decode()
    assert "Needs attention" in page
    assert "All stores are connected" in page


def test_a_broker_outage_after_commit_still_answers_200(
    store, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from inbox import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Redis is down")

    monkeypatch.setattr(tasks.process_inbox_item, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(store, ORDER)
    assert len(callbacks) == 1
    assert response.status_code == 200
    assert InboxItem.objects.get().state == InboxItem.State.PENDING


def test_a_store_with_inbox_items_cannot_be_deleted(store):
    """The inbox has no database constraint on its store (webhooks would lock the store's row);
    PROTECT still keeps a store's events from losing it."""
    assert post_webhook(store, ORDER).status_code == 200
    with pytest.raises(ProtectedError):
        store.delete()
    assert InboxItem.objects.get().store == store
