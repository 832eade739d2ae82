"""Outside input, round 3: five kinds of request that answered 500 now get a clear 4xx.

- a lone surrogate (`"\\ud800"`) in an order API string: 400 naming the field;
- a JSON body in a charset that is no text encoding (rot13, base64, bogus names): 415;
- a form post (the login form, anonymously, included) in a non-UTF-8 or bogus charset: 400,
  with DEBUG on and off; the 400 page never reads the body again;
- the platform admin deleting a platform user (a tenant-only table joined the cascade);
- PUT/PATCH/DELETE/POST on an API URL without its trailing slash: a JSON 404, not the
  APPEND_SLASH RuntimeError (DEBUG) or a redirect that turns the POST into a GET.
"""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.exceptions import UnsupportedMediaType

from core.charsets import HubASGIRequest, HubWSGIRequest
from core.parsers import SafeJSONParser
from orders.models import Order
from tenant_settings.models import ApiToken
from tests.support.orders_api import ApiClient, issue_token, order_body

ORDERS = "/api/v1/orders/"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def acme_api(acme) -> ApiClient:
    return ApiClient("acme.localhost", issue_token("acme"))


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


# a) A lone surrogate in any string of an order -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ('"order_number": "LS-\\ud800"', "order_number"),
        ('"email": "buyer\\udfff@example.com"', "email"),
        ('"ship_to": {"name": "Jane \\uDBFF", "country": "US"}', "ship_to.name"),
        (
            '"lines": [{"sku": "W-1", "name": "\\ud800", "quantity": 1, "unit_price": 1}]',
            "lines[0].name",
        ),
        ('"extra": {"\\ud800": 1}', "a key of extra"),
    ],
)
def test_a_lone_surrogate_in_an_order_string_is_a_json_400_naming_the_field(acme_api, raw, path):
    body = json.dumps(order_body(order_number="LS-1", currency="USD"))
    body = body[:-1] + ", " + raw + "}"  # the later key wins, so the bad value is the one used
    response = acme_api.post(ORDERS, None, raw=body, key="lone-surrogate-" + path)
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert detail.startswith(f"JSON parse error - {path} holds a lone surrogate (\\u")
    assert "not valid Unicode" in detail
    with schema_context("acme"):
        assert not Order.objects.filter(order_number__startswith="LS-").exists()


def test_a_surrogate_pair_is_one_character_and_is_accepted(acme_api):
    body = json.dumps(order_body(order_number="LS-PAIR")).replace(
        '"Jane Doe"', '"Jane \\ud83d\\ude00 Doe"'
    )
    response = acme_api.post(ORDERS, None, raw=body)
    assert response.status_code == 201, response.content
    with schema_context("acme"):
        assert Order.objects.get(order_number="LS-PAIR").ship_to["name"] == "Jane 😀 Doe"


# b) A JSON body in a charset that is not a text encoding -----------------------------------


BAD_CHARSETS = [
    "rot13",
    "base64",
    "hex",
    "zlib",
    "uu",
    "punycode",
    "idna",
    "utf-7",
    "undefined",
    "unicode_escape",
    "no-such-charset",
]


@pytest.mark.parametrize("charset", BAD_CHARSETS)
def test_an_order_body_in_an_unsupported_charset_is_a_json_415(acme_api, debug, charset):
    response = acme_api.client.generic(
        "POST",
        ORDERS,
        json.dumps(order_body(order_number="CS-1")).encode(),
        content_type=f"application/json; charset={charset}",
        HTTP_HOST="acme.localhost",
        **acme_api.headers,
    )
    assert response.status_code == 415, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": f"Unsupported charset '{charset}' in the Content-Type header; "
        "send the JSON as UTF-8.",
        "errors": {},
    }


@pytest.mark.parametrize("charset", BAD_CHARSETS)
def test_the_parser_itself_answers_415_for_an_unsupported_charset(charset):
    with pytest.raises(UnsupportedMediaType) as refused:
        SafeJSONParser().parse(
            io.BytesIO(b'{"a": 1}'),
            f"application/json; charset={charset}",
            {"encoding": charset},
        )
    assert refused.value.status_code == 415


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "utf-16", "latin-1", "cp1252"])
def test_an_order_body_in_a_text_charset_is_accepted(acme_api, charset):
    number = f"CS-{charset}"
    body = json.dumps(order_body(order_number=number), ensure_ascii=False).replace(
        "Jane Doe", "Jane Doé"
    )
    response = acme_api.client.generic(
        "POST",
        ORDERS,
        body.encode(charset),
        content_type=f"application/json; charset={charset}",
        HTTP_HOST="acme.localhost",
        **acme_api.headers,
    )
    assert response.status_code == 201, response.content
    with schema_context("acme"):
        assert Order.objects.get(order_number=number).ship_to["name"] == "Jane Doé"


@pytest.fixture
def hub_requests(monkeypatch) -> None:
    """The test client builds the request class the hub's WSGI application uses."""
    monkeypatch.setattr("django.test.client.WSGIRequest", HubWSGIRequest)


def test_the_hub_serves_its_own_request_classes():
    from integration_hub.asgi import application as asgi
    from integration_hub.wsgi import application as wsgi

    assert (wsgi.request_class, asgi.request_class) == (HubWSGIRequest, HubASGIRequest)


@pytest.mark.parametrize("path", ["/admin/login/?next=/admin/", "/api/v1/orders/?state=routed"])
def test_a_query_string_with_a_non_text_charset_is_read_as_utf8(
    acme_api, debug, hub_requests, path
):
    """Django decoded the query string in rot13 while building the request: a 500 before any
    middleware, whatever the path."""
    response = acme_api.client.get(
        path,
        CONTENT_TYPE="text/plain; charset=rot13",
        HTTP_HOST="acme.localhost",
        **acme_api.headers,
    )
    assert response.status_code == 200, response.content


def test_an_order_with_a_query_string_in_a_non_text_charset_is_a_json_415(acme_api, hub_requests):
    response = acme_api.client.generic(
        "POST",
        ORDERS + "?source=test",
        json.dumps(order_body(order_number="CS-Q")).encode(),
        content_type="application/json; charset=base64",
        HTTP_HOST="acme.localhost",
        **acme_api.headers,
    )
    assert response.status_code == 415


# c) Form posts in a non-UTF-8 or bogus charset ---------------------------------------------


def post_login_form(host: str, charset: str, **extra) -> object:
    """The login form as a browser posts it (CSRF cookie and token), with the charset given."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.get("/admin/login/", HTTP_HOST=host)
    token = client.cookies["csrftoken"].value
    body = f"csrfmiddlewaretoken={token}&username=someone&password=x&next=/admin/".encode()
    return client.generic(
        "POST",
        "/admin/login/?next=/admin/",
        body,
        content_type=f"{FORM}; charset={charset}",
        HTTP_HOST=host,
        **extra,
    )


@pytest.mark.parametrize("charset", ["rot13", "latin-1", "utf-16", "base64", "no-such-charset"])
@pytest.mark.parametrize("host", ["acme.localhost", "localhost"])
def test_the_login_form_posted_in_a_bad_charset_is_a_400_page(
    acme, debug, hub_requests, host, charset
):
    response = post_login_form(host, charset)
    assert response.status_code == 400
    assert b"<h1>Bad request</h1>" in response.content
    assert b"Form data must be sent as UTF-8" in response.content


def test_the_login_form_posted_as_utf8_still_works(acme, debug):
    response = post_login_form("acme.localhost", "UTF-8")
    assert response.status_code == 200  # the form again, with "please enter a correct ..."
    assert b"Please enter the correct" in response.content


def test_an_admin_change_form_posted_in_a_bad_charset_is_a_400_page(acme_admin, debug):
    with schema_context("acme"):
        pk = get_user_model().objects.get(username="ops@acme.test").pk
    response = acme_admin.client.generic(
        "POST",
        f"/admin/auth/user/{pk}/change/",
        b"username=x",
        content_type=f"{FORM}; charset=rot13",
        HTTP_HOST="acme.localhost",
    )
    assert response.status_code == 400


def test_the_400_page_never_reads_the_body_again(acme, settings):
    """Without the charset check, the CSRF check raises Django's own 400 for a latin-1 form;
    Django's 400 view then checked CSRF again, read the form again, raised again: a 500."""
    settings.DEBUG = False
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("BadCharsetMiddleware")]
    response = post_login_form("acme.localhost", "latin-1")
    assert response.status_code == 400
    assert b"<h1>Bad request</h1>" in response.content
    assert b"The request could not be understood" in response.content


# d) The platform admin deletes a platform user ---------------------------------------------


def test_the_platform_admin_deletes_a_platform_user(platform_staff):
    user = get_user_model().objects.create_user("leaver", "leaver@hub.test", "pw-leaver-1")
    url = f"/admin/auth/user/{user.pk}/delete/"
    confirm = platform_staff.get(url)
    assert confirm.status_code == 200
    response = platform_staff.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_the_platform_admin_deletes_platform_users_in_bulk(platform_staff):
    users = get_user_model().objects
    pks = [users.create_user(f"bulk-{n}", f"bulk-{n}@hub.test", "pw").pk for n in range(2)]
    response = platform_staff.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": pks, "post": "yes"},
    )
    assert response.status_code == 302
    assert not users.filter(pk__in=pks).exists()


def test_the_tenant_admin_deleting_a_user_deletes_their_tokens(acme_admin):
    issue_token("acme", username="api-user@acme.test", role="Order manager")
    with schema_context("acme"):
        user = get_user_model().objects.get(username="api-user@acme.test")
        assert ApiToken.objects.filter(user=user).count() == 1
    url = f"/admin/auth/user/{user.pk}/delete/"
    assert acme_admin.get(url).status_code == 200
    response = acme_admin.post(url, {"post": "yes"})
    assert response.status_code == 302
    with schema_context("acme"):
        assert not get_user_model().objects.filter(pk=user.pk).exists()
        assert not ApiToken.objects.filter(name="Test client", user_id=user.pk).exists()


# e) API URLs without their trailing slash --------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
@pytest.mark.parametrize("path", ["/api/v1/orders/1", "/api/v1/orders"])
def test_an_unsafe_method_on_an_api_url_without_its_slash_is_a_json_404(
    acme_api, debug, method, path
):
    response = acme_api.client.generic(
        method,
        path,
        b"{}",
        content_type="application/json",
        HTTP_HOST="acme.localhost",
        **acme_api.headers,
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": f"Not found. Did you mean {path}/ (with a trailing slash)?",
        "errors": {},
    }


@pytest.mark.parametrize("path", ["/api/v2/orders/", "/api/nothing"])
def test_an_unknown_api_url_is_a_json_404(acme_api, debug, path):
    response = acme_api.client.get(path, HTTP_HOST="acme.localhost", **acme_api.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}


def test_a_get_on_an_api_url_without_its_slash_is_still_redirected(acme_api, debug):
    response = acme_api.client.get("/api/v1/orders", HTTP_HOST="acme.localhost")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/orders/"
