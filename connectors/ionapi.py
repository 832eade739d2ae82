"""The `.ionapi` credentials file of an Infor ION API Gateway backend-service app.

Both file shapes are accepted: the service-account file (password grant with `saak`/`sask`)
and the newer client-credentials file without them (contracts/infor-m3.md §1.1-1.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

REQUIRED_KEYS = ("ti", "ci", "cs", "iu", "pu", "ot")
SERVICE_ACCOUNT_KEYS = ("saak", "sask")


class IonApiFileError(ValueError):
    """The text is not a usable `.ionapi` file; the message names what is wrong."""


@dataclass(frozen=True)
class IonApiCredentials:
    tenant: str
    client_name: str
    client_id: str
    client_secret: str
    gateway_url: str
    auth_url: str
    token_path: str
    revoke_path: str
    service_account_key: str = ""
    service_account_secret: str = ""

    @property
    def token_url(self) -> str:
        return self.auth_url + self.token_path

    @property
    def revoke_url(self) -> str:
        return self.auth_url + self.revoke_path

    @property
    def uses_password_grant(self) -> bool:
        return bool(self.service_account_key and self.service_account_secret)

    def api_url(self, product_path: str) -> str:
        """`{iu}/{ti}/{product path}`, e.g. `M3/m3api-rest/v2/execute/CRS610MI/GetBasicData`."""
        return f"{self.gateway_url.rstrip('/')}/{self.tenant}/{product_path.lstrip('/')}"


def parse_ionapi(text: str | bytes) -> IonApiCredentials:
    """Parse and validate `.ionapi` JSON; raises IonApiFileError naming the first problem."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise IonApiFileError(f"The .ionapi file is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise IonApiFileError("The .ionapi file must be a JSON object.")
    missing = [key for key in REQUIRED_KEYS if not str(data.get(key) or "").strip()]
    if missing:
        raise IonApiFileError(f"The .ionapi file is missing the key(s): {', '.join(missing)}.")
    present = [key for key in SERVICE_ACCOUNT_KEYS if str(data.get(key) or "").strip()]
    if len(present) == 1:
        absent = next(key for key in SERVICE_ACCOUNT_KEYS if key not in present)
        raise IonApiFileError(f"The .ionapi file has '{present[0]}' but is missing '{absent}'.")
    for key in ("iu", "pu"):
        if not str(data[key]).startswith(("http://", "https://")):
            raise IonApiFileError(f"The .ionapi key '{key}' must be an http(s) URL.")
    auth_url = str(data["pu"])
    if not auth_url.endswith("/"):
        auth_url += "/"
    return IonApiCredentials(
        tenant=str(data["ti"]),
        client_name=str(data.get("cn", "")),
        client_id=str(data["ci"]),
        client_secret=str(data["cs"]),
        gateway_url=str(data["iu"]),
        auth_url=auth_url,
        token_path=str(data["ot"]),
        revoke_path=str(data.get("or") or "revoke_token.oauth2"),
        service_account_key=str(data.get("saak", "")),
        service_account_secret=str(data.get("sask", "")),
    )
