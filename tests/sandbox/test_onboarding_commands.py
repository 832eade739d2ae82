"""`python -m sandbox add-store | add-erp-tenant | add-shipstation-account`: what each creates
answers the upstream calls the hub makes with exactly the values the command prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox
from tests.support.harness import ROOT


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox(tmp_path_factory.mktemp("onboarding-sandbox")) as handle:
        yield handle


def cli(sandbox: SandboxHandle, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "--url", sandbox.url, *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )  # fmt: skip


def printed(output: str, label: str) -> str:
    """The value after `label: ` on the command's output."""
    line = next(line for line in output.splitlines() if line.strip().startswith(f"{label}: "))
    return line.split(": ", 1)[1].strip()


def a2c(sandbox: SandboxHandle, method: str, store_key: str | None = None, **args) -> dict:
    headers = {"x-api-key": demo_data.API2CART_API_KEY}
    if store_key:
        headers["x-store-key"] = store_key
    url = f"{sandbox.api_url('api2cart')}/{method}.json"
    if method == "account.cart.add":
        answer = requests.post(url, json=args, headers=headers, timeout=10)
    else:
        answer = requests.get(url, params=args, headers=headers, timeout=10)
    return answer.json()


def test_add_store_prints_what_connects_it_and_sells_its_catalogue(sandbox) -> None:
    done = cli(sandbox, "add-store", "initech-shop", "--products", "6", "--currency", "EUR")
    assert done.returncode == 0, done.stderr
    token = printed(done.stdout, "Shopify Admin API access token")
    url, store_key = printed(done.stdout, "Store URL"), printed(done.stdout, "Store key")
    assert url == "https://initech-shop.myshopify.com" and token.startswith("shpat_")

    wrong = a2c(sandbox, "account.cart.add", cart_id="Shopify", store_url=url,
                shopify_access_token="shpat_wrong")  # fmt: skip
    assert wrong["return_code"] == 100
    connected = a2c(sandbox, "account.cart.add", cart_id="Shopify", store_url=url,
                    shopify_access_token=token)  # fmt: skip
    assert connected["result"] == {"store_key": store_key}

    info = a2c(sandbox, "cart.info", store_key, params="force_all")["result"]
    assert info["url"] == url and info["stores_info"][0]["currency"]["iso3"] == "EUR"
    products = a2c(sandbox, "product.count", store_key)["result"]
    assert products["products_count"] == 6
    assert a2c(sandbox, "customer.count", store_key)["result"]["customers_count"] == 40
    items = sandbox.control("api2cart", "store-items", store="initech-shop")["items"]
    assert len(items) == 10  # two of the six products come in three sizes
    assert all(item["sku"].startswith("INI-") and item["quantity"] > 0 for item in items)
    placed = sandbox.control("api2cart", "place-orders", store="initech-shop", count=1)
    order = a2c(sandbox, "order.info", store_key, order_id=placed["orders"][0]["order_id"],
                params="force_all")["result"]  # fmt: skip
    assert order["currency"]["iso3"] == "EUR"


def test_a_platform_with_several_credentials_needs_all_of_them(sandbox) -> None:
    done = cli(sandbox, "add-store", "woo-shop", "--platform", "WoocommerceApi")
    assert done.returncode == 0, done.stderr
    key = printed(done.stdout, "WooCommerce (API) REST API consumer key")
    secret = printed(done.stdout, "WooCommerce (API) REST API consumer secret")
    assert key.startswith("ck_") and secret.startswith("cs_")
    url = printed(done.stdout, "Store URL")
    half = a2c(sandbox, "account.cart.add", cart_id="WoocommerceApi", store_url=url,
               wc_consumer_key=key)  # fmt: skip
    assert half["return_code"] == 100
    whole = a2c(sandbox, "account.cart.add", cart_id="WoocommerceApi", store_url=url,
                wc_consumer_key=key, wc_consumer_secret=secret)  # fmt: skip
    assert whole["result"] == {"store_key": printed(done.stdout, "Store key")}
    listed = a2c(sandbox, "account.supported_platforms")["result"]["supported_platforms"]
    woo = next(p for p in listed if p["cart_id"] == "WoocommerceApi")
    assert [p["name"] for p in woo["params"]["required"][0]] == [
        "store_url", "wc_consumer_key", "wc_consumer_secret"]  # fmt: skip


def test_add_store_refuses_unknown_platforms_and_taken_names(sandbox) -> None:
    with pytest.raises(SandboxError, match="Unknown platform"):
        sandbox.control("api2cart", "add-store", name="x-shop", platform="Nope")
    sandbox.control("api2cart", "add-store", name="twice-shop", products=1)
    with pytest.raises(SandboxError, match="exists already"):
        sandbox.control("api2cart", "add-store", name="twice-shop", products=1)
    done = cli(sandbox, "add-store", "Bad Name")
    assert done.returncode == 1 and "lowercase" in done.stderr


def test_add_erp_tenant_writes_an_ionapi_file_the_token_endpoint_accepts(
    sandbox, tmp_path: Path
) -> None:
    sandbox.control("api2cart", "add-store", name="hooli-shop", products=3, sku_prefix="HO")
    done = cli(sandbox, "add-erp-tenant", "hooli", "--store", "hooli-shop", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = Path(printed(done.stdout, "Upload .ionapi file"))
    assert path == tmp_path / "hooli.ionapi"
    ionapi = json.loads(path.read_text())
    assert ionapi == sandbox.control("m3", "ionapi", tenant="hooli")
    token = requests.post(
        ionapi["pu"] + ionapi["ot"],
        data={"grant_type": "password", "username": ionapi["saak"], "password": ionapi["sask"],
              "client_id": ionapi["ci"], "client_secret": ionapi["cs"]},
        timeout=10,
    ).json()["access_token"]  # fmt: skip
    base = f"{ionapi['iu']}/{ionapi['ti']}/M3/m3api-rest/v2/execute"
    headers = {"Authorization": f"Bearer {token}"}
    company = printed(done.stdout, "ERP company (CONO)")
    template = printed(done.stdout, "Customer template (CUNO)")
    answer = requests.get(f"{base}/CRS610MI/GetBasicData;cono={company}",
                          params={"CUNO": template}, headers=headers, timeout=10)  # fmt: skip
    record = answer.json()["results"][0]["records"][0]
    division = printed(done.stdout, "ERP division (DIVI)")
    assert (record["CONO"], record["DIVI"]) == (company, division)
    warehouse = printed(done.stdout, "Default warehouse (WHLO)")
    for item in sandbox.control("api2cart", "store-items", store="hooli-shop")["items"]:
        balance = requests.get(f"{base}/MMS200MI/GetItmWhsBal",
                               params={"ITNO": item["sku"], "WHLO": warehouse},
                               headers=headers, timeout=10)  # fmt: skip
        assert float(balance.json()["results"][0]["records"][0]["STQT"]) > 0

    other = demo_data.ionapi_file("acme", sandbox.url)
    refused = requests.post(
        ionapi["pu"] + ionapi["ot"],
        data={"grant_type": "client_credentials", "client_id": other["ci"],
              "client_secret": other["cs"]},
        timeout=10,
    )  # fmt: skip
    assert refused.status_code == 401


def test_an_added_erp_tenant_survives_a_restart_of_the_sandbox(tmp_path: Path) -> None:
    with start_sandbox(tmp_path) as first:
        made = first.control("m3", "add-tenant", name="umbrella",
                             items=[{"sku": "UM-1", "price": "9.50", "weight": "1"}])  # fmt: skip
    with start_sandbox(tmp_path) as again:
        ionapi = again.control("m3", "ionapi", tenant="umbrella")
        assert (ionapi["ci"], ionapi["cs"], ionapi["sask"]) == (
            made["ionapi"]["ci"], made["ionapi"]["cs"], made["ionapi"]["sask"])  # fmt: skip
        assert ionapi["iu"] == f"{again.url}/ion"
        with pytest.raises(SandboxError, match="exists already"):
            again.control("m3", "add-tenant", name="umbrella")


def test_add_shipstation_account_gives_a_key_pair_the_api_accepts(sandbox) -> None:
    done = cli(sandbox, "add-shipstation-account", "initech")
    assert done.returncode == 0, done.stderr
    base = printed(done.stdout, "ShipStation base URL")
    auth = (printed(done.stdout, "ShipStation API key"),
            printed(done.stdout, "ShipStation API secret"))  # fmt: skip
    stores = requests.get(f"{base}/stores", auth=auth, timeout=10)
    assert stores.status_code == 200
    assert [s["storeName"] for s in stores.json()] == ["ShipStation Manual Store"]
    refused = requests.get(f"{base}/stores", auth=(auth[0], "wrong"), timeout=10)
    assert refused.status_code == 401
    again = cli(sandbox, "add-shipstation-account", "initech")
    assert again.returncode == 1 and "exists already" in again.stderr
