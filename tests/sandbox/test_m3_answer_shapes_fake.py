"""The M3 fake's other v2 answer shapes (contracts/infor-m3.md §3.4), chosen by `m3` faults.

Runs without Django: `pytest tests/sandbox/test_m3_answer_shapes_fake.py -p no:django`.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from sandbox import demo_data
from sandbox.testing import SandboxError, SandboxHandle, start_sandbox
from tests.sandbox.test_m3_fake import M3, sellable_skus

ACME = demo_data.tenant("acme")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox(tmp_path_factory.mktemp("m3-shapes")) as handle:
        yield handle


@pytest.fixture
def m3(sandbox: SandboxHandle) -> Iterator[M3]:
    sandbox.control("m3", "faults", clear=True)
    yield M3(sandbox)
    sandbox.control("m3", "faults", clear=True)


def lines_body(orno: str, skus: list[str]) -> dict:
    return {
        "program": "OIS100MI",
        "transactions": [
            {"transaction": "AddBatchLine", "record": {"ORNO": orno, "ITNO": sku, "ORQT": "1"}}
            for sku in skus
        ],
    }


def batch_head(m3: M3) -> str:
    cuor = f"WEB-{uuid.uuid4().hex[:8]}"
    return m3.one("OIS100MI", "AddBatchHead", CUNO=ACME.default_customer, CUOR=cuor)["ORNO"]


def test_the_answer_faults_are_the_m3_upstreams_own(sandbox: SandboxHandle) -> None:
    faults = sandbox.control("m3", "faults", bulk_stop_after=2, string_flags=1)["faults"]
    assert (faults["bulk_stop_after"], faults["string_flags"], faults["error_rate"]) == (2, 1, 0)
    cleared = sandbox.control("m3", "faults", clear=True)["faults"]
    assert cleared["bulk_stop_after"] == 0 and cleared["no_rows_error"] == 0
    with pytest.raises(SandboxError, match="Unknown fault"):
        sandbox.control("api2cart", "faults", bulk_stop_after=1)
    with pytest.raises(SandboxError, match="cannot be negative"):
        sandbox.control("m3", "faults", bulk_stop_after=-1)


def test_the_cli_sets_an_answer_fault(sandbox: SandboxHandle, m3: M3) -> None:
    command = [sys.executable, "-m", "sandbox", "--url", sandbox.url, "faults", "m3"]
    subprocess.run([*command, "no_rows_error=1"], check=True, capture_output=True, timeout=30)
    assert m3.get("CRS610MI", "LstBySearchKey", ALCU="ZZZZZZZZZZ").status_code == 400
    subprocess.run([*command, "--clear"], check=True, capture_output=True, timeout=30)
    assert m3.records("CRS610MI", "LstBySearchKey", ALCU="ZZZZZZZZZZ") == []


def test_default_errors_are_inside_results_of_a_400(m3: M3) -> None:
    answer = m3.get("CRS610MI", "Add", CUNM="No template")
    body = answer.json()
    assert answer.status_code == 400 and body["wasTerminated"] is False
    assert body["results"][0]["errorField"] == "CUTM" and "errorMessage" not in body


def test_top_level_errors_have_no_results(sandbox: SandboxHandle, m3: M3) -> None:
    sandbox.control("m3", "faults", error_top_level=1)
    answer = m3.get("CRS610MI", "Add", CUNM="No template")
    body = answer.json()
    assert answer.status_code == 400 and "results" not in body
    assert body["errorField"] == "CUTM" and body["errorCode"].startswith("WCU")
    assert body["errorMessage"] and body["errorType"] == "ServerReturnedNOK"


def test_errors_inside_a_200(sandbox: SandboxHandle, m3: M3) -> None:
    sandbox.control("m3", "faults", error_in_200=1)
    answer = m3.get("CRS610MI", "GetBasicData", CUNO="NOSUCHCUST")
    body = answer.json()
    assert answer.status_code == 200 and body["nrOfFailedTransactions"] == 1
    assert body["results"][0]["errorField"] == "CUNO" and body["results"][0]["errorMessage"]
    ok = m3.get("CRS610MI", "GetBasicData", CUNO=ACME.default_customer).json()
    assert ok["results"][0]["records"][0]["CUNO"] == ACME.default_customer


def test_a_bulk_run_stops_after_n_transactions(sandbox: SandboxHandle, m3: M3) -> None:
    orno = batch_head(m3)
    skus = sellable_skus("acme")[:3]
    sandbox.control("m3", "faults", bulk_stop_after=1)

    body = m3.bulk(lines_body(orno, skus)).json()

    first, second, third = body["results"]
    assert first["records"] and "notProcessed" not in first
    assert second == {"transaction": "AddBatchLine", "notProcessed": True} == third
    assert body["nrOfNotProcessedTransactions"] == 2 and body["bulkJobId"]
    assert (body["nrOfSuccessfullTransactions"], body["nrOfFailedTransactions"]) == (1, 0)
    assert body["wasTerminated"] is False
    sandbox.control("m3", "faults", clear=True)
    real = m3.one("OIS100MI", "Confirm", ORNO=orno)["ORNO"]
    assert [r["ITNO"] for r in m3.records("OIS100MI", "LstLine", ORNO=real)] == skus[:1]


def test_a_full_bulk_run_is_unchanged_by_default(m3: M3) -> None:
    body = m3.bulk(lines_body(batch_head(m3), sellable_skus("acme")[:2])).json()
    assert "nrOfNotProcessedTransactions" not in body and "bulkJobId" not in body
    assert all("notProcessed" not in r for r in body["results"])


def test_string_flags(sandbox: SandboxHandle, m3: M3) -> None:
    sandbox.control("m3", "faults", string_flags=1, bulk_stop_after=1)
    single = m3.get("CRS610MI", "GetBasicData", CUNO=ACME.default_customer).json()
    assert single["wasTerminated"] == "false" and single["nrOfSuccessfullTransactions"] == "1"
    bulk = m3.bulk(lines_body(batch_head(m3), sellable_skus("acme")[:2])).json()
    assert bulk["results"][1]["notProcessed"] == "true"
    assert bulk["nrOfNotProcessedTransactions"] == "1"


def test_no_rows_error_on_an_empty_list(sandbox: SandboxHandle, m3: M3) -> None:
    sandbox.control("m3", "faults", no_rows_error=1)
    error = m3.error("CRS610MI", "LstBySearchKey", ALCU="ZZZZZZZZZZ")
    assert (error["errorCode"], error["errorMessage"]) == ("XRE0103", "Record does not exist")
    assert m3.records("CRS610MI", "LstByNumber", ";maxrecs=1")  # a list with rows answers rows
    missing = m3.error("CRS610MI", "GetBasicData", CUNO="NOSUCHCUST")  # a Get* is unchanged
    assert missing["errorField"] == "CUNO" and missing["errorCode"] != "XRE0103"
