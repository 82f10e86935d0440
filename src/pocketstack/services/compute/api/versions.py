"""Version discovery: GET /compute/ (every version) and GET /compute/v2.1 (this one, with
its microversion range)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import nova_fault
from pocketstack.core.microversions import version_entry

api = ApiRouter(nova_fault)

UPDATED = "2013-07-23T11:33:21Z"  # what Nova says of v2.1
MEDIA_TYPE = "application/vnd.openstack.compute+json;version=2.1"
DOCS = "http://docs.openstack.org/"


def _entry(call: Call, *, detailed: bool) -> dict[str, Any]:
    service = call.cloud.compute
    return version_entry(
        "v2.1",
        service.microversions,
        href=call.url("/v2.1/"),
        updated=UPDATED,
        media_type=MEDIA_TYPE if detailed else None,
        docs_href=DOCS if detailed else None,
    )


@api.route("GET", "/", tx="none")
def list_versions(call: Call) -> dict[str, Any]:
    return {"versions": [_entry(call, detailed=False)]}


@api.route("GET", "/v2.1", tx="none")
def show_version(call: Call) -> dict[str, Any]:
    return {"version": _entry(call, detailed=True)}
