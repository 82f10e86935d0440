"""Version discovery: GET /image/ (300 Multiple Choices) and /image/versions."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import glance_fault

api = ApiRouter(glance_fault)

CURRENT = (2, 17)  # the newest Glance v2 minor version these routes match


def versions(call: Call) -> dict[str, Any]:
    major, newest = CURRENT
    href = call.url("/v2/")
    listed = []
    for minor in range(newest, -1, -1):
        status = "CURRENT" if minor == newest else "SUPPORTED"
        listed.append({"id": f"v{major}.{minor}", "status": status, "links": [{"rel": "self", "href": href}]})
    return {"versions": listed}


@api.route("GET", "/", tx="none")
def list_versions_root(call: Call) -> JSONResponse:
    return JSONResponse(versions(call), status_code=300)


@api.route("GET", "/versions", tx="none")
def list_versions(call: Call) -> dict[str, Any]:
    return versions(call)
