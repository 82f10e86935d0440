"""os-server-password: the encrypted password the guest posted to the metadata service
(see backend/server_password.py).

GET    /v2.1/servers/{id}/os-server-password   {"password": "<base64>"}, "" when none
DELETE /v2.1/servers/{id}/os-server-password   forget it (204); the guest's own password
                                               is unchanged, and it may post a new one"""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import nova_fault

from ..backend import server_password as backend
from .servers import get_server

api = ApiRouter(nova_fault)

PATH = "/v2.1/servers/{server_id}/os-server-password"


@api.route("GET", PATH)
def show_password(call: Call) -> dict[str, Any]:
    server = get_server(call, "os_compute_api:os-server-password:show")
    return {"password": backend.password_of(server)}


@api.route("DELETE", PATH, status=204)
def clear_password(call: Call) -> None:
    # Nova clears it even on a locked server: it is metadata, not the server
    server = get_server(call, "os_compute_api:os-server-password:clear")
    backend.clear(server)
