"""Version discovery: GET /identity/ and GET /identity/v3."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import keystone_fault

api = ApiRouter(keystone_fault)

VERSION = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"


def version_document(call: Call) -> dict[str, Any]:
    return {
        "id": VERSION,
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": call.url("/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }


@api.route("GET", "/", tx="none")
def versions(call: Call) -> Response:
    # Keystone answers its root with 300 Multiple Choices
    return JSONResponse({"versions": {"values": [version_document(call)]}}, status_code=300)


@api.route("GET", "/v3", tx="none")
def version(call: Call) -> dict[str, Any]:
    return {"version": version_document(call)}
