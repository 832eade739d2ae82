"""Production settings: no fake upstream and no demo seeding is installed or even imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.support.harness import ROOT

pytestmark = pytest.mark.e2e  # a child Python with the production settings

PROBE = """
import json, sys, django
django.setup()
from django.conf import settings
print(json.dumps({
    "apps": settings.INSTALLED_APPS,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("sandbox", "demo")),
}))
"""


def test_production_installs_and_imports_no_sandbox_and_no_demo():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "integration_hub.settings",
        "HUB_ENV": "production",
        "SECRET_KEY": "s" * 50,
        "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert "core" in found["apps"] and "orders" in found["apps"]
    assert [app for app in found["apps"] if app.split(".")[-1] in ("sandbox", "demo")] == []
    assert found["loaded"] == []
