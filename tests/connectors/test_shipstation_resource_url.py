"""A webhook's `resource_url` gets the tenant's ShipStation credentials only when it stays under
the configured base URL (issue 20, item 7).

`<base>/shipstation/../x` used to pass the "inside the base path" prefix test, and the HTTP
client then removed the dot segment and sent the key pair to `/x`. These tests call a real local
server through a session that records everything the client hands to the transport, so they
assert on what is sent, not on what the check returns.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from connectors.errors import PermanentError
from connectors.shipstation import ShipStationClient
from connectors.url_paths import UnsafeURL, normalise_url, remove_dot_segments
from sandbox import demo_data

KEY, SECRET = "tenant-key", "tenant-secret"
CREDENTIALS = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()


class Recorder:
    """A local HTTP server answering every GET with an empty page, recording path and auth."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str | None]] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append((self.path, self.headers.get("Authorization")))
                body = json.dumps({"shipments": [], "orders": [], "pages": 1}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RecordingSession(requests.Session):
    """Records every prepared request before it goes to the transport; `offline` answers itself."""

    def __init__(self, *, offline: bool = False) -> None:
        super().__init__()
        self.offline = offline
        self.sent: list[tuple[str, str | None]] = []

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.sent.append((request.url or "", request.headers.get("Authorization")))
        if not self.offline:
            return super().send(request, **kwargs)
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"shipments": [], "orders": [], "pages": 1}'
        response.url = request.url or ""
        return response


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Recorder, Recorder]]:
    """The tenant's ShipStation (path /shipstation on one port) and a neighbour on another."""
    home, neighbour = Recorder(), Recorder()
    yield home, neighbour
    home.stop()
    neighbour.stop()


@pytest.fixture
def home(servers) -> Recorder:
    for server in servers:
        server.hits.clear()
    return servers[0]


@pytest.fixture
def neighbour(servers, home) -> Recorder:
    return servers[1]


def client_for(base_url: str, session: RecordingSession) -> ShipStationClient:
    return ShipStationClient(KEY, SECRET, base_url=base_url, session=session)


ESCAPES = [
    "{base}/../x",
    "{base}/../x/shipments",
    "{base}/shipments/../../x",
    "{base}/%2e%2e/x",
    "{base}/%2E%2E/x",
    "{base}/%2e./x",
    "{base}/.%2E/x",
    "{base}/%2E%2E%2Fx",
    "{base}/%2e%2e%2fx",
    "{base}/..%2fx",
    "{base}/..%2Fx",
    "{base}/..%5cx",
    "{base}/%252e%252e/x",
    "{base}/..;/x",
    "{base}/.;/../x",
    "{base}/..\\x",
    "{base}\\..\\x",
    "{base}/shipments\\..\\..\\x",
    "{base}//evil.com/x",
    "{base}/.//evil.com/x",
    "{origin}//evil.com/shipstation/shipments",
    "{origin}/shipstation/..//evil.com/",
    "{origin}/x/../shipstation/../x",
    "{origin}/shipstationx/shipments",
    "{origin}/shipstation@evil.com/shipments",
    "{origin}/",
    "{origin}",
    "{origin}/shipstation",
    "http://user:pw@127.0.0.1:{port}/shipstation/shipments",
    "http://evil.com@127.0.0.1:{port}/shipstation/shipments",
    "http://127.0.0.1:{port}@evil.com/shipstation/shipments",
    "http://127.0.0.1:{port}\\@evil.com/shipstation/shipments",
    "http://127.0.0.1:{other_port}/shipstation/shipments",
    "http://127.0.0.1/shipstation/shipments",
    "https://127.0.0.1:{port}/shipstation/shipments",
    "http://localhost:{port}/shipstation/shipments",
    "http://127.0.0.1.:{port}/shipstation/shipments",
    "http://2130706433:{port}/shipstation/shipments",
    "http://%31%32%37.0.0.1:{port}/shipstation/shipments",
    "//127.0.0.1:{port}/shipstation/shipments",
    "/shipstation/shipments",
    "ftp://127.0.0.1:{port}/shipstation/shipments",
    "http://evil.com/shipstation/shipments",
    "http://127.0.0.1:{port}/shipstation/ship\u2025/x",
    "http://127.0.0.1:{port}/shipstation/%E2%80%A5/x",
]


def expand(template: str, home: Recorder, neighbour: Recorder) -> str:
    origin = f"http://127.0.0.1:{home.port}"
    return template.format(
        base=f"{origin}/shipstation",
        origin=origin,
        port=home.port,
        other_port=neighbour.port,
    )


@pytest.mark.parametrize("template", ESCAPES)
@pytest.mark.parametrize("kind", ["shipments", "orders"])
def test_a_resource_url_leaving_the_base_is_refused_and_nothing_is_sent(
    home, neighbour, template, kind
):
    session = RecordingSession()
    url = expand(template, home, neighbour)
    with client_for(f"http://127.0.0.1:{home.port}/shipstation", session) as client:
        fetch = (
            client.fetch_resource_shipments if kind == "shipments" else client.fetch_resource_orders
        )
        with pytest.raises(PermanentError):
            list(fetch(url))
    assert session.sent == []
    assert home.hits == []
    assert neighbour.hits == []


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{base}/shipments?batchId=7", "/shipstation/shipments"),
        ("{base}/./shipments", "/shipstation/shipments"),
        ("{base}/x/../shipments", "/shipstation/shipments"),
        ("{base}/x/%2e%2e/shipments", "/shipstation/shipments"),
        ("{base}/%73hipments", "/shipstation/shipments"),
        ("{base}/shipments/.", "/shipstation/shipments/"),
        ("HTTP://127.0.0.1:{port}/shipstation/shipments", "/shipstation/shipments"),
        ("{base}/shipments?next=/../../x&batchId=7", "/shipstation/shipments"),
        ("{base}/shipments#/../../x", "/shipstation/shipments"),
    ],
)
def test_a_resource_url_under_the_base_goes_to_the_base_only(home, neighbour, template, path):
    session = RecordingSession()
    with client_for(f"http://127.0.0.1:{home.port}/shipstation", session) as client:
        assert list(client.fetch_resource_shipments(expand(template, home, neighbour))) == []
    assert [urlsplit(url).path for url, _auth in session.sent] == [path]
    assert [(hit.split("?")[0], auth) for hit, auth in home.hits] == [(path, CREDENTIALS)]
    assert neighbour.hits == []


def test_the_query_of_a_resource_url_stays_a_query(home, neighbour):
    session = RecordingSession()
    url = expand("{base}/shipments?next=/../../x&batchId=7", home, neighbour)
    with client_for(f"http://127.0.0.1:{home.port}/shipstation", session) as client:
        list(client.fetch_resource_shipments(url))
    ((hit, _auth),) = home.hits
    assert hit.startswith("/shipstation/shipments?")
    assert "next=%2F..%2F..%2Fx" in hit
    assert "batchId=7" in hit


@pytest.mark.parametrize(
    "url",
    [
        "https://ssapi.shipstation.com:8443/shipments",
        "https://ssapi11.shipstation.com:8443/shipments",
        "http://ssapi.shipstation.com/shipments",
        "http://ssapi11.shipstation.com/shipments",
        "https://ssapi.shipstation.com@evil.com/shipments",
        "https://evil.com@ssapi.shipstation.com/shipments",
        "https://ssapi.shipstation.com.evil.com/shipments",
        "https://ssapi.shipstation.com\\@evil.com/shipments",
        "https://ssapi.shipstation.com//evil.com/shipments",
        "https://ssapix.shipstation.com/shipments",
    ],
)
def test_production_refuses_escapes_and_foreign_origins(url):
    session = RecordingSession(offline=True)
    with ShipStationClient(KEY, SECRET, session=session) as client, pytest.raises(PermanentError):
        list(client.fetch_resource_shipments(url))
    assert session.sent == []


@pytest.mark.parametrize(
    "url",
    [
        "https://ssapi.shipstation.com/shipments?batchId=7",
        "https://SSAPI.ShipStation.com:443/shipments?batchId=7",
        "https://ssapi11.shipstation.com/shipments?batchId=7",
        "https://ssapi.shipstation.com/x/../shipments?batchId=7",
    ],
)
def test_production_sends_credentials_to_the_configured_host_only(url):
    session = RecordingSession(offline=True)
    with ShipStationClient(KEY, SECRET, session=session) as client:
        list(client.fetch_resource_shipments(url))
    assert [(urlsplit(u).netloc, urlsplit(u).path, a) for u, a in session.sent] == [
        ("ssapi.shipstation.com", "/shipments", CREDENTIALS)
    ]


@pytest.mark.parametrize(
    "url", ["https://ssapi.shipstation.com/../x", "https://ssapi.shipstation.com/%2e%2e/x"]
)
def test_with_a_root_base_dot_segments_stay_on_the_host(url):
    """The production base has no path: the whole host is the base, `..` cannot leave it."""
    session = RecordingSession(offline=True)
    with ShipStationClient(KEY, SECRET, session=session) as client:
        list(client.fetch_resource_shipments(url))
    assert [(urlsplit(u).netloc, urlsplit(u).path) for u, _a in session.sent] == [
        ("ssapi.shipstation.com", "/x")
    ]


# --- Properties over generated paths --------------------------------------------------------

SEGMENTS = [
    "shipments",
    "orders",
    "x",
    "shipstation",
    "",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2E%2e",
    ".%2e",
    "%2e.",
    "..%2f",
    "%2F",
    "%5c",
    "\\",
    "..;",
    "%252e%252e",
    "%73hipments",
    "@evil.com",
    "evil.com",
]
BASE = "https://api.example.test:8443/tenant/shipstation"


def server_view(url: str) -> str:
    """What a lenient server makes of a path: decode everything, then remove dot segments."""
    return remove_dot_segments(unquote(unquote(urlsplit(url).path)).replace("\\", "/"))


@examples(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6),
    st.sampled_from(["", "/"]),
)
def test_whatever_the_path_credentials_only_go_under_the_base(segments, tail):
    url = f"{BASE}/{'/'.join(segments)}{tail}?batchId=1"
    session = RecordingSession(offline=True)
    with ShipStationClient(KEY, SECRET, base_url=BASE, session=session) as client:
        try:
            list(client.fetch_resource_shipments(url))
        except PermanentError:
            assert session.sent == []
            return
    assert session.sent
    for sent, auth in session.sent:
        assert auth == CREDENTIALS
        assert sent.startswith(BASE + "/")
        assert urlsplit(sent).netloc == "api.example.test:8443"
        assert server_view(sent).startswith("/tenant/shipstation/")
        assert "//" not in urlsplit(sent).path


@given(st.lists(st.sampled_from(["a", "b", ".", "..", ""]), max_size=8))
def test_remove_dot_segments_never_climbs_above_the_root(segments):
    path = remove_dot_segments("/" + "/".join(segments))
    assert "/../" not in path + "/"
    assert "/./" not in path + "/"
    assert path == "" or path.startswith("/")


@pytest.mark.parametrize(
    ("path", "expected"),
    [  # RFC 3986 §5.2.4 and §5.4.2 examples
        ("/a/b/c/./../../g", "/a/g"),
        ("mid/content=5/../6", "mid/6"),
        ("/b/c/../../../g", "/g"),
        ("/b/c/./g", "/b/c/g"),
        ("/b/c/g/.", "/b/c/g/"),
        ("/b/c/g/..", "/b/c/"),
        ("/b/c/g..", "/b/c/g.."),
        ("/b/c/..g", "/b/c/..g"),
        ("/b/c/./../g", "/b/g"),
        ("/b/c/./g/.", "/b/c/g/"),
    ],
)
def test_remove_dot_segments_follows_the_rfc(path, expected):
    assert remove_dot_segments(path) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://h/a%2fb",
        "http://h/a%5Cb",
        "http://h/a%25",
        "http://h/a;b",
        "http://u@h/",
        "http://h\\@x/",
        "http://h/\u00e9",
        "http://h/a b",
        "http://h/%zz",
        "http://%68/",
        "file:///etc/passwd",
    ],
)
def test_normalise_url_refuses_what_servers_read_differently(url):
    with pytest.raises(UnsafeURL):
        normalise_url(url)


# --- The sandbox: its other services sit next to the ShipStation fake ------------------------

ACME = demo_data.tenant("acme")


def call_counts(sandbox) -> dict[str, object]:
    return {
        name: part.get("calls") for name, part in sandbox.status().items() if isinstance(part, dict)
    }


@pytest.mark.parametrize(
    "escape",
    [
        "/../api2cart/v1.1/order.list.json",
        "/%2e%2e/_control/status",
        "/..%2f_control/status",
        "/../ion/M3/m3api-rest/v2/execute/CRS610MI/LstByNumber",
    ],
)
def test_the_sandbox_neighbours_are_never_called_with_the_shipstation_key(sandbox, escape):
    base = sandbox.api_url("shipstation")
    before = call_counts(sandbox)
    session = RecordingSession()
    client = ShipStationClient(
        ACME.shipstation_key, ACME.shipstation_secret, base_url=base, session=session
    )
    with client, pytest.raises(PermanentError):
        list(client.fetch_resource_orders(base + escape))
    assert session.sent == []
    assert call_counts(sandbox) == before
