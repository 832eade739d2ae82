"""Signing in to the portal as the test tenants' admins and the platform staff."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

PASSWORDS = {"acme": "acme-admin-test-pw", "globex": "globex-admin-test-pw"}
PLATFORM_PASSWORD = "platform-staff-test-pw"


@dataclass
class Portal:
    """A browser-like client bound to one host."""

    client: Client
    host: str

    def get(self, path: str, **kwargs):
        return self.client.get(path, HTTP_HOST=self.host, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        return self.client.post(path, data or {}, HTTP_HOST=self.host, **kwargs)

    def login(self, username: str, password: str):
        return self.post(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
        )


def signed_in(host: str, username: str, password: str) -> Portal:
    portal = Portal(Client(), host)
    response = portal.login(username, password)
    assert response.status_code == 302, f"login as {username} at {host} failed"
    return portal
