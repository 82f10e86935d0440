"""Version discovery: GET /compute/ (every version), GET /compute/v2.1 (this one, with
its microversion range) and GET /compute/v2 (the legacy v2.0 entry's document)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import nova_fault
from pocketstack.core.microversions import VersionRange, version_entry

api = ApiRouter(nova_fault)

UPDATED = "2013-07-23T11:33:21Z"  # what Nova says of v2.1
MEDIA_TYPE = "application/vnd.openstack.compute+json;version=2.1"
LEGACY_MEDIA_TYPE = "application/vnd.openstack.compute+json;version=2"
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


def _legacy_entry(call: Call, *, detailed: bool = False) -> dict[str, Any]:
    """Nova still lists its v2.0 API (unversioned, SUPPORTED) first; clients and Tempest
    expect to see it there, and its self link to lead to its version document."""
    return version_entry(
        "v2.0",
        VersionRange(),
        href=call.url("/v2/"),
        updated="2011-01-21T11:33:21Z",
        status="SUPPORTED",
        media_type=LEGACY_MEDIA_TYPE if detailed else None,
        docs_href=DOCS if detailed else None,
    )


@api.route("GET", "/", tx="none")
def list_versions(call: Call) -> dict[str, Any]:
    return {"versions": [_legacy_entry(call), _entry(call, detailed=False)]}


@api.route("GET", "/v2.1", tx="none")
@api.route("GET", "/v2.1/", tx="none")  # clients ask for the endpoint with its slash
def show_version(call: Call) -> dict[str, Any]:
    return {"version": _entry(call, detailed=True)}


@api.route("GET", "/v2", tx="none")
@api.route("GET", "/v2/", tx="none")
def show_legacy_version(call: Call) -> dict[str, Any]:
    """The v2.0 version document only: the v2.0 API itself (Nova's v2.1 code in a legacy
    mode) is not served here; its clients negotiate v2.1."""
    return {"version": _legacy_entry(call, detailed=True)}
