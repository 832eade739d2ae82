"""The ION API + M3 fake over real HTTP, checked against contracts/infor-m3.md.

Runs without Django: `pytest tests/sandbox/test_m3_fake.py -p no:django`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox

ACME = demo_data.tenant("acme")
GLOBEX = demo_data.tenant("globex")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox(tmp_path_factory.mktemp("m3-sandbox")) as handle:
        yield handle


def ionapi(sandbox: SandboxHandle, slug: str = "acme") -> dict[str, str]:
    return demo_data.ionapi_file(slug, sandbox.url)


def token_url(sandbox: SandboxHandle, slug: str = "acme") -> str:
    creds = ionapi(sandbox, slug)
    return creds["pu"] + creds["ot"]


def password_grant(
    sandbox: SandboxHandle, slug: str = "acme", **overrides: str
) -> requests.Response:
    creds = ionapi(sandbox, slug)
    form = {
        "grant_type": "password",
        "username": creds["saak"],
        "password": creds["sask"],
        "client_id": creds["ci"],
        "client_secret": creds["cs"],
        **overrides,
    }
    return requests.post(token_url(sandbox, slug), data=form, timeout=10)


class M3:
    """A bare m3api-rest caller for one tenant, as the contract describes the protocol."""

    def __init__(self, sandbox: SandboxHandle, slug: str = "acme") -> None:
        self.creds = ionapi(sandbox, slug)
        self.token = password_grant(sandbox, slug).json()["access_token"]
        self.base = f"{self.creds['iu']}/{self.creds['ti']}/M3/m3api-rest"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, program: str, trx: str, matrix: str = "", **fields: str) -> requests.Response:
        url = f"{self.base}/v2/execute/{program}/{trx}{matrix}"
        return requests.get(url, params=fields, headers=self.headers, timeout=10)

    def v1(self, program: str, trx: str, matrix: str = "", **fields: str) -> requests.Response:
        url = f"{self.base}/execute/{program}/{trx}{matrix}"
        return requests.get(url, params=fields, headers=self.headers, timeout=10)

    def records(self, program: str, trx: str, matrix: str = "", **fields: str) -> list[dict]:
        answer = self.get(program, trx, matrix, **fields)
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]["records"]

    def one(self, program: str, trx: str, **fields: str) -> dict[str, str]:
        found = self.records(program, trx, **fields)
        assert len(found) == 1, found
        return found[0]

    def error(self, program: str, trx: str, **fields: str) -> dict[str, str]:
        answer = self.get(program, trx, **fields)
        assert answer.status_code == 400, answer.text
        return answer.json()["results"][0]

    def bulk(self, body: dict, **options: str) -> requests.Response:
        return requests.post(
            f"{self.base}/v2/execute", params=options, json=body, headers=self.headers, timeout=10
        )


@pytest.fixture(scope="module")
def m3(sandbox: SandboxHandle) -> M3:
    return M3(sandbox)


def sellable_skus(slug: str) -> list[str]:
    return [sku for product in demo_data.products(slug) for sku in product.sellable_skus]


def new_order(m3: M3, cuno: str, skus: list[str]) -> tuple[str, str, str]:
    """AddBatchHead + lines + Confirm; returns (temporary ORNO, real ORNO, CUOR)."""
    cuor = f"WEB-{uuid.uuid4().hex[:8]}"
    temp = m3.one("OIS100MI", "AddBatchHead", CUNO=cuno, CUOR=cuor)["ORNO"]
    for sku in skus:
        m3.one("OIS100MI", "AddBatchLine", ORNO=temp, ITNO=sku, ORQT="1")
    real = m3.one("OIS100MI", "Confirm", ORNO=temp)["ORNO"]
    return temp, real, cuor


# --- ION authorisation ---------------------------------------------------------------------------


def test_password_grant_with_client_credentials_in_the_body(sandbox: SandboxHandle) -> None:
    answer = password_grant(sandbox)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert body["access_token"] and body["refresh_token"]


def test_password_grant_with_basic_client_authentication(sandbox: SandboxHandle) -> None:
    creds = ionapi(sandbox)
    answer = requests.post(
        token_url(sandbox),
        data={"grant_type": "password", "username": creds["saak"], "password": creds["sask"]},
        auth=(creds["ci"], creds["cs"]),
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["access_token"]


def test_client_credentials_grant_issues_no_refresh_token(sandbox: SandboxHandle) -> None:
    creds = ionapi(sandbox)
    answer = requests.post(
        token_url(sandbox),
        data={"grant_type": "client_credentials"},
        auth=(creds["ci"], creds["cs"]),
        timeout=10,
    )
    assert answer.status_code == 200
    assert "refresh_token" not in answer.json()


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"password": "wrong"}, 400, "invalid_grant"),
        ({"username": "ACME_TST#ACME_TST#sbxServiceAcme"}, 400, "invalid_grant"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ],
)
def test_bad_token_requests_get_oauth_errors(
    sandbox: SandboxHandle, overrides: dict, status: int, error: str
) -> None:
    answer = password_grant(sandbox, **overrides)
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_credentials_of_one_tenant_do_not_open_another(sandbox: SandboxHandle) -> None:
    globex = ionapi(sandbox, "globex")
    answer = requests.post(
        token_url(sandbox, "acme"),
        data={"grant_type": "password", "username": globex["saak"], "password": globex["sask"],
              "client_id": globex["ci"], "client_secret": globex["cs"]},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 401


def test_gateway_needs_a_bearer_token_of_the_same_tenant(sandbox: SandboxHandle, m3: M3) -> None:
    url = f"{m3.base}/v2/execute/CRS610MI/GetBasicData"
    assert requests.get(url, params={"CUNO": ACME.default_customer}, timeout=10).status_code == 401
    globex_token = password_grant(sandbox, "globex").json()["access_token"]
    answer = requests.get(
        url, params={"CUNO": ACME.default_customer},
        headers={"Authorization": f"Bearer {globex_token}"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"


def test_refresh_grant_and_revoke(sandbox: SandboxHandle) -> None:
    creds = ionapi(sandbox)
    first = password_grant(sandbox).json()
    refreshed = requests.post(
        token_url(sandbox),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(creds["ci"], creds["cs"]),
        timeout=10,
    )
    assert refreshed.status_code == 200
    access = refreshed.json()["access_token"]
    assert access != first["access_token"]

    url = f"{creds['iu']}/{creds['ti']}/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData"
    headers = {"Authorization": f"Bearer {access}"}
    params = {"CUNO": ACME.default_customer}
    assert requests.get(url, params=params, headers=headers, timeout=10).status_code == 200

    revoke_url = creds["pu"] + creds["or"]
    for token, hint in ((access, "access_token"), (first["refresh_token"], "refresh_token")):
        answer = requests.post(
            revoke_url, data={"token": token, "token_type_hint": hint},
            auth=(creds["ci"], creds["cs"]), timeout=10,
        )  # fmt: skip
        assert answer.status_code == 200
    assert requests.get(url, params=params, headers=headers, timeout=10).status_code == 401
    again = requests.post(
        token_url(sandbox),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(creds["ci"], creds["cs"]),
        timeout=10,
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_tokens_expire_after_the_configured_lifetime(sandbox: SandboxHandle) -> None:
    sandbox.control("m3", "set-token-lifetime", seconds=1)
    try:
        body = password_grant(sandbox).json()
        assert body["expires_in"] == 1
        short = M3(sandbox)
        short.token = body["access_token"]
        assert short.get("CRS610MI", "GetBasicData", CUNO=ACME.default_customer).ok
        time.sleep(1.3)
        assert short.get("CRS610MI", "GetBasicData", CUNO=ACME.default_customer).status_code == 401
    finally:
        sandbox.control("m3", "set-token-lifetime", seconds=7200)


def test_token_lifetime_control_rejects_bad_input(sandbox: SandboxHandle) -> None:
    with pytest.raises(SandboxError):
        sandbox.control("m3", "set-token-lifetime", seconds=0)


# --- m3api-rest envelopes and options ----------------------------------------------------------


def test_v2_envelope_for_a_single_get(m3: M3) -> None:
    answer = m3.get("CRS610MI", "GetBasicData", CUNO=ACME.default_customer)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "results", "wasTerminated", "nrOfSuccessfullTransactions", "nrOfFailedTransactions",
    }  # fmt: skip
    assert body["wasTerminated"] is False
    assert body["nrOfSuccessfullTransactions"] == 1
    assert body["nrOfFailedTransactions"] == 0
    [result] = body["results"]
    assert result["transaction"] == "GetBasicData"
    [record] = result["records"]
    assert record["CUNO"] == ACME.default_customer
    assert record["CONO"] == ACME.company
    assert all(isinstance(value, str) for value in record.values())
    assert len(record["LMDT"]) == 8 and record["LMDT"].isdigit()


def test_v2_nok_is_http_400_with_the_error_body(m3: M3) -> None:
    answer = m3.get("CRS610MI", "GetBasicData", CUNO="NOSUCH")
    assert answer.status_code == 400
    body = answer.json()
    assert body["nrOfSuccessfullTransactions"] == 0
    assert body["nrOfFailedTransactions"] == 1
    assert body["wasTerminated"] is False
    [result] = body["results"]
    assert result["transaction"] == "GetBasicData"
    assert result["errorType"] == "ServerReturnedNOK"
    assert result["errorField"] == "CUNO"
    assert result["errorCode"]
    assert "NOSUCH" in result["errorMessage"]


@pytest.mark.parametrize(("program", "trx"), [("CRS610MI", "NoSuchTrx"), ("XYZ999MI", "Get")])
def test_unknown_program_or_transaction_is_transaction_not_found(
    m3: M3, program: str, trx: str
) -> None:
    assert m3.error(program, trx)["errorType"] == "TransactionNotFound"
    v1 = m3.v1(program, trx).json()
    assert v1["ErrorMessage"]["@type"] == "TransactionNotFound"


def test_wrong_company_is_not_authorized(m3: M3) -> None:
    result = m3.error("CRS610MI", "GetBasicData", CUNO=ACME.default_customer, CONO="999")
    assert (result["errorCode"], result["errorField"]) == ("XAU0008", "CONO")
    answer = m3.get("CRS610MI", "GetBasicData", f";cono={ACME.company}", CUNO=ACME.default_customer)
    assert answer.status_code == 200


def test_maxrecs_defaults_to_100_and_zero_means_all(m3: M3) -> None:
    skus = sellable_skus("acme")
    assert len(skus) > 100
    assert len(m3.records("OIS320MI", "LstNewPrices")) == 100
    assert len(m3.records("OIS320MI", "LstNewPrices", ";maxrecs=0")) == len(skus)
    assert len(m3.records("OIS320MI", "LstNewPrices", ";maxrecs=3")) == 3


def test_returncols_and_excludempty(m3: M3) -> None:
    records = m3.records("CRS610MI", "LstByNumber", ";maxrecs=5;returncols=CUNO,MAIL")
    assert [set(record) for record in records] == [{"CUNO", "MAIL"}] * 5
    [full] = m3.records("CRS610MI", "GetBasicData", CUNO=ACME.default_customer)
    [trimmed] = m3.records(
        "CRS610MI", "GetBasicData", ";excludempty=true", CUNO=ACME.default_customer
    )
    assert "" in full.values()
    assert trimmed == {key: value for key, value in full.items() if value}


def test_v1_envelope_pads_values_and_reports_errors(m3: M3) -> None:
    answer = m3.v1("CRS610MI", "GetBasicData", ";metadata=true", CUNO=ACME.default_customer)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["Program"], body["Transaction"]) == ("CRS610MI", "GetBasicData")
    assert {"@name": "CUNO", "@type": "A", "@length": "10", "@description": "Customer number"} in (
        body["Metadata"]["Field"]
    )
    [record] = body["MIRecord"]
    assert record["RowIndex"] == "0"
    values = {pair["Name"]: pair["Value"] for pair in record["NameValue"]}
    assert values["CUNO"] == ACME.default_customer.ljust(10)

    nok = m3.v1("CRS610MI", "GetBasicData", CUNO="NOSUCH").json()
    assert nok["@type"] == "ServerReturnedNOK"
    assert nok["@field"] == "CUNO"
    assert nok["@code"] and nok["Message"]


def test_bulk_post_runs_each_transaction_on_its_own(m3: M3) -> None:
    body = {
        "program": "CRS610MI",
        "transactions": [
            {"transaction": "GetBasicData", "record": {"CUNO": ACME.default_customer},
             "selectedColumns": ["CUNO", "CUNM"]},
            {"transaction": "GetBasicData", "record": {"CUNO": "NOSUCH"}},
            {"transaction": "NoSuchTrx", "record": {}},
        ],
    }  # fmt: skip
    answer = m3.bulk(body, maxrecs="0", cono=ACME.company)
    assert answer.status_code == 200
    result = answer.json()
    assert result["nrOfSuccessfullTransactions"] == 1
    assert result["nrOfFailedTransactions"] == 2
    ok, nok, missing = result["results"]
    assert set(ok["records"][0]) == {"CUNO", "CUNM"}
    assert (nok["errorType"], nok["errorField"]) == ("ServerReturnedNOK", "CUNO")
    assert missing["errorType"] == "TransactionNotFound"


def test_bulk_post_with_an_unknown_program_is_terminated(m3: M3) -> None:
    result = m3.bulk({"program": "NOPE00MI", "transactions": []}).json()
    assert result["wasTerminated"] is True
    assert result["terminationErrorType"] == "TransactionNotFound"
    assert result["terminationReason"]


# --- customers -------------------------------------------------------------------------------


def test_each_ion_tenant_is_its_own_m3(m3: M3, sandbox: SandboxHandle) -> None:
    m3.error("CRS610MI", "GetBasicData", CUNO=GLOBEX.default_customer)
    globex = M3(sandbox, "globex")
    assert globex.one("CRS610MI", "GetBasicData", CUNO=GLOBEX.default_customer)["CONO"] == "200"
    m3.error("MMS200MI", "Get", ITNO=sellable_skus("globex")[0])


def test_known_shoppers_are_found_by_email(m3: M3) -> None:
    person = demo_data.erp_known_customers("acme")[0]
    found = m3.records("CRS610MI", "SearchCustomer", SQRY=f'MAIL:"{person.email}"')
    assert len(found) == 1
    assert found[0]["MAIL"] == person.email
    assert m3.one("CRS610MI", "GetBasicData", CUNO=found[0]["CUNO"])["TOWN"] == person.city


def test_add_customer_from_template_then_find_it(m3: M3, sandbox: SandboxHandle) -> None:
    before = sandbox.status()["m3"]["erp_customers_created"]
    email = f"new.{uuid.uuid4().hex[:6]}@example.com"
    alcu = f"NW{uuid.uuid4().hex[:8].upper()}"
    created = m3.one(
        "CRS610MI", "Add", CUTM=f"{ACME.sku_prefix}TEMPLATE", CUNM="New Shopper",
        CUA1="1 High St", TOWN="Leeds", PONO="LS1 4AP", CSCD="GB", MAIL=email, ALCU=alcu,
    )  # fmt: skip
    cuno = created["CUNO"]
    customer = m3.one("CRS610MI", "GetBasicData", CUNO=cuno)
    assert (customer["MAIL"], customer["ORTP"], customer["STAT"]) == (email, "B2C", "20")
    first = m3.records("CRS610MI", "LstBySearchKey", ";maxrecs=1", ALCU=alcu)
    assert first[0]["CUNO"] == cuno
    assert sandbox.status()["m3"]["erp_customers_created"] == before + 1

    added = m3.one(
        "CRS610MI", "AddAddress", CUNO=cuno, ADRT="1", ADID="HOME", CUA1="2 Main St",
        PONO="78701", CSCD="US", TOWN="Austin",
    )  # fmt: skip
    assert added == {"CUNO": cuno, "ADRT": "1", "ADID": "HOME"}
    assert m3.error("CRS610MI", "AddAddress", CUNO=cuno, ADRT="1", ADID="HOME", CUA1="x",
                    PONO="1", CSCD="US", TOWN="y")["errorField"] == "ADID"  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "missing_field"),
    [
        ({"CUNM": "X", "CUA1": "Y"}, "CUTM"),
        ({"CUTM": "ACTEMPLATE", "CUA1": "Y"}, "CUNM"),
        ({"CUTM": "ACTEMPLATE", "CUNM": "X"}, "CUA1"),
    ],
)
def test_add_customer_mandatory_fields(m3: M3, fields: dict, missing_field: str) -> None:
    result = m3.error("CRS610MI", "Add", **fields)
    assert result["errorField"] == missing_field
    assert result["errorMessage"].endswith("must be entered")


def test_add_customer_checks_template_and_field_lengths(m3: M3) -> None:
    assert m3.error("CRS610MI", "Add", CUTM="NOSUCH", CUNM="X", CUA1="Y")["errorField"] == "CUTM"
    too_long = m3.error("CRS610MI", "Add", CUTM="ACTEMPLATE", CUNM="X", CUA1="Y", ALCU="A" * 11)
    assert too_long["errorField"] == "ALCU"


# --- orders, deliveries, invoices ---------------------------------------------------------------


def test_order_to_cash(m3: M3, sandbox: SandboxHandle) -> None:
    skus = sellable_skus("acme")[:2]
    cuor = f"WEB-{uuid.uuid4().hex[:8]}"
    temp = m3.one("OIS100MI", "AddBatchHead", CUNO=ACME.default_customer, CUOR=cuor,
                  RLDT="20300101")["ORNO"]  # fmt: skip
    assert len(temp) == 10
    m3.records("OIS100MI", "AddBatchAddress", ORNO=temp, ADRT="1", CUNM="Ada Lovelace",
               CUA1="1 High St", TOWN="Leeds", PONO="LS1 4AP", CSCD="GB")  # fmt: skip
    lines = [m3.one("OIS100MI", "AddBatchLine", ORNO=temp, ITNO=sku, ORQT="2") for sku in skus]
    assert [line["PONR"] for line in lines] == ["1", "2"]
    assert m3.one("OIS100MI", "GetOrderNo", ORNO=temp)["ORNR"] == ""
    m3.error("OIS100MI", "GetHead", ORNO=temp)

    confirmed = m3.one("OIS100MI", "Confirm", ORNO=temp)
    orno = confirmed["ORNO"]
    assert orno != temp
    assert m3.one("OIS100MI", "GetOrderNo", ORNO=temp)["ORNR"] == orno
    assert m3.error("OIS100MI", "Confirm", ORNO=temp)["errorField"] == "ORNO"

    head = m3.one("OIS100MI", "GetHead", ORNO=orno)
    assert (head["CUOR"], head["RLDT"]) == (cuor, "20300101")
    assert len(head["ORSL"]) == len(head["ORST"]) == 2
    assert head["ORSL"] in ("22", "33")
    order_lines = m3.records("OIS100MI", "LstLine", ORNO=orno)
    assert [line["ITNO"] for line in order_lines] == skus
    assert Decimal(head["NTAM"]) == sum(Decimal(line["NLAM"]) for line in order_lines)
    assert [h["ORNO"] for h in m3.records("OIS100MI", "SearchHead", SQRY=f"CUOR:{cuor}")] == [orno]

    delivered = sandbox.control("m3", "deliver", order=orno)["delivered"]
    assert len(delivered) == 1
    dlix, tracking = delivered[0]["dlix"], delivered[0]["tracking"]
    assert m3.one("OIS100MI", "GetHead", ORNO=orno)["ORST"] == "77"
    del_line = m3.one("OIS100MI", "LstDelLineByCO", ORNO=orno, PONR="1")
    assert (del_line["DLIX"], del_line["TRQT"]) == (dlix, "2")
    delivery = m3.one("MWS410MI", "GetHead", DLIX=dlix)
    assert (delivery["ETRN"], delivery["RIDN"], delivery["PGRS"]) == (tracking, orno, "70")

    invoice = m3.one("OIS350MI", "LstAllInvByCO", ORNO=orno)
    assert invoice["IVNO"] == delivered[0]["invoice"] == delivery["IVNO"]
    assert Decimal(invoice["RAFC"]) == Decimal(invoice["IVAV"]) == Decimal(head["TOPY"]) > 0
    assert len(invoice["DUDT"]) == 8
    open_ar = [
        row
        for row in m3.records("ARS200MI", "LstInvoices", ";maxrecs=0", CUNO=ACME.default_customer)
        if row["CINO"] == invoice["IVNO"]
    ]
    assert open_ar[0]["RECO"] == "0"

    paid = sandbox.control("m3", "pay", invoice=invoice["IVNO"])["paid"]
    assert paid[0]["order"] == orno
    assert m3.one("OIS350MI", "LstAllInvByCO", ORNO=orno)["RAFC"] == "0"
    totals = m3.one(
        "ARS200MI", "GetInvTotInfo", PYNO=ACME.default_customer, CINO=invoice["IVNO"],
        INYR=invoice["YEA4"], CUNO=ACME.default_customer,
    )  # fmt: skip
    assert (totals["RECO"], totals["OCUA"]) == ("9", "0")
    with pytest.raises(SandboxError):
        sandbox.control("m3", "pay", invoice=invoice["IVNO"])
    with pytest.raises(SandboxError):
        sandbox.control("m3", "deliver", order=orno)


def test_deliver_all_and_pay_all(m3: M3, sandbox: SandboxHandle) -> None:
    _, first, _ = new_order(m3, ACME.default_customer, sellable_skus("acme")[2:3])
    _, second, cuor = new_order(m3, ACME.default_customer, sellable_skus("acme")[3:4])
    delivered = sandbox.control("m3", "deliver", all=True)["delivered"]
    assert {first, second} <= {entry["order"] for entry in delivered}
    assert all(entry["tracking"] for entry in delivered)
    assert sandbox.control("m3", "deliver", all=True)["delivered"] == []
    assert sandbox.control("m3", "pay", order=cuor)["paid"][0]["order"] == second
    sandbox.control("m3", "pay", all=True)
    status = sandbox.status()["m3"]
    assert status["invoices"] == status["invoices_paid"] == status["deliveries"]


def test_add_batch_line_checks_the_item_and_logs_errors(m3: M3) -> None:
    temp = m3.one("OIS100MI", "AddBatchHead", CUNO=ACME.default_customer)["ORNO"]
    assert m3.error("OIS100MI", "AddBatchLine", ORNO=temp)["errorField"] == "ITNO"
    unknown = m3.error("OIS100MI", "AddBatchLine", ORNO=temp, ITNO="NO-SUCH-SKU", ORQT="1")
    assert unknown["errorField"] == "ITNO"
    assert "NO-SUCH-SKU" in unknown["errorMessage"]
    globex_item = m3.error("OIS100MI", "AddBatchLine", ORNO=temp, ITNO=sellable_skus("globex")[0])
    assert globex_item["errorField"] == "ITNO"

    no_lines = m3.error("OIS100MI", "Confirm", ORNO=temp)
    assert no_lines["errorField"] == "ORNO"
    errors = m3.records("OIS100MI", "LstErrMsgOrder", ORNO=temp)
    assert [error["MDTA"] for error in errors] == ["ITNO", "ITNO", "ORNO"]
    assert set(errors[0]) == {"LEVL", "MSID", "MDTA", "TX60"}
    m3.records("OIS100MI", "DelBatchHead", ORNO=temp)
    m3.error("OIS100MI", "LstErrMsgOrder", ORNO=temp)


def test_add_batch_head_requires_a_known_customer(m3: M3) -> None:
    assert m3.error("OIS100MI", "AddBatchHead")["errorField"] == "CUNO"
    assert m3.error("OIS100MI", "AddBatchHead", CUNO="NOSUCH")["errorField"] == "CUNO"
    assert m3.error("OIS100MI", "AddBatchHead", CUNO="ACTEMPLATE")["errorField"] == "CUNO"
    bad_date = m3.error("OIS100MI", "AddBatchHead", CUNO=ACME.default_customer, RLDT="2030-01-01")
    assert bad_date["errorField"] == "RLDT"


def test_lookup_by_customer_order_reference(m3: M3) -> None:
    _, orno, cuor = new_order(m3, ACME.default_customer, sellable_skus("acme")[:1])
    heads = m3.records("OIS100MI", "LstHead", ";maxrecs=0", CUNO=ACME.default_customer)
    assert [head["ORNO"] for head in heads if head["CUOR"] == cuor] == [orno]


# --- prices and stock ----------------------------------------------------------------------------


def lmts_now() -> str:
    return str(int(time.time() * 1000))


def test_price_changes_show_up_in_lst_new_prices(m3: M3, sandbox: SandboxHandle) -> None:
    sku = sellable_skus("acme")[10]
    since = lmts_now()
    time.sleep(0.01)
    assert m3.records("OIS320MI", "LstNewPrices", LMTS=since) == []
    sandbox.control("m3", "set-price", sku=sku, amount="12.5")
    changed = m3.records("OIS320MI", "LstNewPrices", LMTS=since)
    assert [(line["ITNO"], line["SAPR"]) for line in changed] == [(sku, "12.5")]
    as_date = datetime.fromtimestamp(int(since) / 1000, UTC).strftime("%Y%m%d%H%M%S%f")[:17]
    assert m3.records("OIS320MI", "LstNewPrices", LMTS=as_date) == changed
    price = m3.one("OIS320MI", "GetPriceLine", CUNO=ACME.default_customer, ITNO=sku)
    assert price["SAPR"] == "12.5"


def test_stock_changes_show_up_in_lst_new_balances(m3: M3, sandbox: SandboxHandle) -> None:
    sku = sellable_skus("acme")[11]
    since = lmts_now()
    time.sleep(0.01)
    sandbox.control("m3", "set-stock", sku=sku, warehouse="110", qty=7)
    changed = m3.records("OIS100MI", "LstNewBalances", LMTS=since)
    assert [(b["WHLO"], b["ITNO"], b["AV01"]) for b in changed] == [("110", sku, "7")]
    balances = m3.records("OIS100MI", "LstWarehBalance", ITNO=sku)
    assert [balance["WHLO"] for balance in balances] == ["100", "110"]
    assert m3.one("MMS200MI", "GetItmWhsBal", WHLO="110", ITNO=sku)["STQT"] == "7"


def test_confirm_allocates_stock(m3: M3, sandbox: SandboxHandle) -> None:
    sku = sellable_skus("acme")[12]
    sandbox.control("m3", "set-stock", sku=sku, warehouse="100", qty=1)
    since = lmts_now()
    time.sleep(0.01)
    _, orno, _ = new_order(m3, ACME.default_customer, [sku])
    assert m3.one("OIS100MI", "LstLine", ORNO=orno)["ORST"] == "33"
    changed = m3.records("OIS100MI", "LstNewBalances", LMTS=since)
    assert [(b["ITNO"], b["AV01"]) for b in changed] == [(sku, "0")]
    _, short, _ = new_order(m3, ACME.default_customer, [sku])
    assert m3.one("OIS100MI", "GetHead", ORNO=short)["ORST"] == "22"


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("set-price", {"sku": "NO-SUCH", "amount": 1}),
        ("set-price", {"sku": sellable_skus("acme")[0], "amount": "abc"}),
        ("set-stock", {"sku": sellable_skus("acme")[0], "warehouse": "999", "qty": 1}),
        ("deliver", {}),
        ("deliver", {"order": "0"}),
        ("pay", {"invoice": "0"}),
        ("no-such-action", {}),
    ],
)
def test_control_rejects_bad_input(sandbox: SandboxHandle, action: str, payload: dict) -> None:
    with pytest.raises(SandboxError):
        sandbox.control("m3", action, **payload)


def test_status_counts_calls_and_token_requests(sandbox: SandboxHandle) -> None:
    status = sandbox.status()["m3"]
    assert status["token_requests"] > 0
    assert status["calls"] > 0
    assert status["erp_customers"] >= len(demo_data.erp_known_customers("acme")) + 1
