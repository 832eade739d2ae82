"""A chat room's incoming webhook (Slack's JSON shape, which Mattermost, Rocket.Chat, Teams
workflows and Discord's `/slack` endpoint also accept): one message per call, nothing read back."""

from __future__ import annotations

from connectors._http import HttpClient
from connectors.guard import AddressPolicy


class ChatWebhookClient(HttpClient):
    upstream = "chat"

    def __init__(self, url: str, *, allow_address: AddressPolicy | None = None) -> None:
        super().__init__(url, timeout=(5.0, 10.0), allow_address=allow_address)
        self.webhook_url = url

    def post_message(self, text: str) -> None:
        """`{"text": ...}`: the one field every Slack-compatible receiver reads."""
        response = self.send("POST", self.webhook_url, json={"text": text})
        if response.status_code >= 300:
            raise self.http_error(response, f"chat webhook answered {response.status_code}")
