"""Microversions: parsing, negotiation from request headers, and routing by version."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import anyio
import httpx
import pytest
from starlette.datastructures import Headers, State
from starlette.responses import JSONResponse
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, NotAcceptable, nova_fault
from pocketstack.core.microversions import Microversions, Version, VersionRange, version_entry

COMPUTE = Microversions("compute", VersionRange("2.1", "2.96"), legacy_header="X-OpenStack-Nova-API-Version")
VOLUME = Microversions("volume", VersionRange("3.0", "3.70"), legacy_header="OpenStack-Volume-microversion")


# -- Version ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "major", "minor"), [("2.1", 2, 1), ("2.96", 2, 96), ("3.0", 3, 0), (" 2.47 ", 2, 47), ("10.200", 10, 200)]
)
def test_version_parses_major_dot_minor(text: str, major: int, minor: int) -> None:
    version = Version.parse(text)
    assert (version.major, version.minor) == (major, minor)
    assert str(version) == text.strip()


@pytest.mark.parametrize(
    "junk", ["", "2", "2.", ".1", "02.1", "2.01", "0.1", "a.b", "2.1.1", "-2.1", "2,1", "latest", "v2.1", "٢.١", "2.1 x"]
)
def test_version_refuses_junk(junk: str) -> None:
    with pytest.raises(ValueError):
        Version.parse(junk)


def test_version_compares_with_versions_and_strings() -> None:
    v247 = Version.parse("2.47")
    assert v247 >= "2.47" and v247 > "2.46" and v247 < "2.100" and v247 <= "2.47"
    assert v247 == "2.47" and v247 != "2.48" and v247 != Version(2, 48)
    assert "2.9" < v247 < Version(3, 0)  # numeric, not lexical: 2.9 is older than 2.47
    assert sorted([Version(2, 10), Version(2, 9), Version(3, 0), Version(2, 100)]) == ["2.9", "2.10", "2.100", "3.0"]
    assert {Version(2, 47): "x"}.get("2.47") == "x"  # hashes like its string form
    assert v247 != "junk"  # not equal, rather than an error
    with pytest.raises(ValueError):
        _ = v247 >= "junk"  # ordering against junk is a bug in our own code: loud


def test_version_range_contains_and_open_ends() -> None:
    supported = VersionRange("2.1", "2.96")
    assert "2.1" in supported and "2.96" in supported and Version(2, 47) in supported
    assert "2.0" not in supported and "2.97" not in supported and "3.1" not in supported
    assert "9.999" in VersionRange("2.47") and "2.46" not in VersionRange("2.47")
    assert "1.0" in VersionRange(max="2.46") and "2.47" not in VersionRange(max="2.46")
    with pytest.raises(ValueError):
        VersionRange("2.50", "2.10")


def test_version_range_overlaps() -> None:
    assert not VersionRange("2.1", "2.46").overlaps(VersionRange("2.47"))
    assert VersionRange("2.1", "2.47").overlaps(VersionRange("2.47"))
    assert VersionRange().overlaps(VersionRange("2.47", "2.50"))
    assert not VersionRange(max="2.1").overlaps(VersionRange("2.2", "2.3"))


def test_a_service_range_needs_both_ends() -> None:
    with pytest.raises(ValueError):
        Microversions("compute", VersionRange("2.1"))


# -- reading the headers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"OpenStack-API-Version": "compute 2.47"}, "2.47"),
        ({"openstack-api-version": "COMPUTE 2.47"}, "2.47"),  # header names and service types ignore case
        ({"OPENSTACK-API-VERSION": "Compute   2.47 "}, "2.47"),
        ({"OpenStack-API-Version": "volume 3.10, compute 2.47, identity 3.0"}, "2.47"),
        ({"OpenStack-API-Version": "compute 2.3, compute 2.47"}, "2.47"),  # the last entry for us wins
        ({"OpenStack-API-Version": "volume 3.10"}, None),  # another service's entry is not ours
        ({"OpenStack-API-Version": "2.47"}, None),  # no service named: not an entry
        ({"X-OpenStack-Nova-API-Version": "2.47"}, "2.47"),
        ({"x-openstack-nova-api-version": "2.3, 2.47"}, "2.47"),
        ({"X-OpenStack-Nova-API-Version": "latest"}, "latest"),
        ({"OpenStack-API-Version": "compute 2.47", "X-OpenStack-Nova-API-Version": "2.3"}, "2.47"),  # the standard one wins
        ({"OpenStack-API-Version": "volume 3.10", "X-OpenStack-Nova-API-Version": "2.3"}, "2.3"),
        ({"OpenStack-Volume-microversion": "3.10"}, None),  # Cinder's legacy header is not Nova's
    ],
)
def test_compute_reads_its_own_version(headers: dict[str, str], expected: str | None) -> None:
    assert COMPUTE.requested(headers) == expected


def test_repeated_header_lines_are_one_list() -> None:
    headers = Headers(raw=[(b"openstack-api-version", b"compute 2.5"), (b"openstack-api-version", b"volume 3.2")])
    assert COMPUTE.requested(headers) == "2.5"
    assert VOLUME.requested(headers) == "3.2"


def test_volume_reads_its_own_version() -> None:
    assert VOLUME.requested({"OpenStack-API-Version": "compute 2.47, volume 3.27"}) == "3.27"
    assert VOLUME.requested({"openstack-volume-microversion": "3.27"}) == "3.27"
    assert VOLUME.requested({"X-OpenStack-Nova-API-Version": "2.47"}) is None


# -- negotiation ------------------------------------------------------------------------


def test_no_header_means_the_minimum_and_latest_the_maximum() -> None:
    assert COMPUTE.negotiate({}) == "2.1"
    assert COMPUTE.negotiate({"OpenStack-API-Version": "volume 3.70"}) == "2.1"
    assert COMPUTE.negotiate({"OpenStack-API-Version": "compute latest"}) == "2.96"
    assert COMPUTE.negotiate({"X-OpenStack-Nova-API-Version": "latest"}) == "2.96"
    assert VOLUME.negotiate({}) == "3.0"
    assert VOLUME.negotiate({"OpenStack-API-Version": "volume latest"}) == "3.70"


def test_the_range_ends_are_served() -> None:
    assert COMPUTE.negotiate({"OpenStack-API-Version": "compute 2.1"}) == "2.1"
    assert COMPUTE.negotiate({"OpenStack-API-Version": "compute 2.96"}) == "2.96"


@pytest.mark.parametrize("asked", ["2.200", "2.97", "2.0", "3.0", "1.1"])
def test_outside_the_range_is_not_acceptable(asked: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        COMPUTE.negotiate({"OpenStack-API-Version": f"compute {asked}"})
    assert caught.value.message == f"Version {asked} is not supported by the API. Minimum is 2.1 and maximum is 2.96."


@pytest.mark.parametrize("asked", ["2", "two.one", "2.01", "LATEST", "2.1.0", ""])
def test_malformed_is_a_bad_request(asked: str) -> None:
    with pytest.raises(BadRequest) as caught:
        COMPUTE.negotiate({"X-OpenStack-Nova-API-Version": asked})
    assert caught.value.message == f"API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum."


def test_response_headers_name_the_version() -> None:
    assert COMPUTE.response_headers(Version(2, 47)) == {"OpenStack-API-Version": "compute 2.47", "X-OpenStack-Nova-API-Version": "2.47"}
    assert COMPUTE.vary == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    no_legacy = Microversions("placement", VersionRange("1.0", "1.39"))
    assert no_legacy.response_headers(Version(1, 0)) == {"OpenStack-API-Version": "placement 1.0"}
    assert no_legacy.vary == "OpenStack-API-Version"


# -- routing by version, through HTTP ----------------------------------------------------


class TinyApp:
    """Just what ApiRouter's endpoints reach for (app.state.cloud, a request context),
    without a database: every route here is tx="none"."""

    def __init__(self, router: ApiRouter) -> None:
        self.state = State()
        self.state.cloud = SimpleNamespace(settings=SimpleNamespace(max_request_body=1 << 16), public_url="http://testserver")
        self.inner = Router(routes=router.starlette_routes(), redirect_slashes=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if scope["type"] == "http":
            scope.setdefault("state", {})["context"] = RequestContext(request_id="req-test")
        await self.inner(scope, receive, send)


class AppClient:
    """Drives an ASGI app in-process through httpx's ASGI transport, one event loop per request."""

    def __init__(self, app: TinyApp) -> None:
        self.app = app

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver") as client:
                return await client.request(method, path, headers=headers)

        return anyio.run(send)

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers)

    def head(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("HEAD", path, headers)

    def post(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("POST", path, headers)

    def delete(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("DELETE", path, headers)


def compute_router() -> ApiRouter:
    api = ApiRouter(nova_fault)

    @api.route("GET", "/servers/{id}", max_version="2.46", tx="none")
    def show_old(call: Call) -> dict[str, Any]:
        return {"handler": "old", "version": str(call.version), "id": call.params["id"]}

    @api.route("GET", "/servers/{id}", min_version="2.47", tx="none")
    def show_new(call: Call) -> dict[str, Any]:
        assert call.version is not None
        shape = "flavor-embedded" if call.version >= "2.47" else "flavor-link"
        return {"handler": "new", "version": str(call.version), "shape": shape}

    @api.route("DELETE", "/servers/{id}", tx="none", status=204)
    def delete(call: Call) -> None:
        raise Conflict(f"busy at {call.version}")

    @api.route("GET", "/servers/{id}/topology", min_version="2.78", tx="none")
    def topology(call: Call) -> dict[str, Any]:
        return {"nodes": []}

    @api.route("GET", "/own-vary", tx="none")
    def own_vary(call: Call) -> JSONResponse:
        return JSONResponse({}, headers={"Vary": "Accept"})

    # modules build plain routers; the service's router is given the microversions
    service_router = ApiRouter(nova_fault)
    service_router.microversions = COMPUTE
    service_router.include(api)
    return service_router


@pytest.fixture(scope="module")
def compute() -> AppClient:
    return AppClient(TinyApp(compute_router()))


def version_headers(response: Any) -> tuple[str | None, str | None, str | None]:
    return (
        response.headers.get("OpenStack-API-Version"),
        response.headers.get("X-OpenStack-Nova-API-Version"),
        response.headers.get("Vary"),
    )


def test_no_header_is_served_by_the_oldest_handler(compute: AppClient) -> None:
    response = compute.get("/servers/abc")
    assert response.status_code == 200
    assert response.json() == {"handler": "old", "version": "2.1", "id": "abc"}
    assert version_headers(response) == ("compute 2.1", "2.1", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")


@pytest.mark.parametrize(
    ("headers", "handler", "served"),
    [
        ({"OpenStack-API-Version": "compute 2.46"}, "old", "2.46"),
        ({"OpenStack-API-Version": "compute 2.47"}, "new", "2.47"),
        ({"X-OpenStack-Nova-API-Version": "2.47"}, "new", "2.47"),
        ({"OpenStack-API-Version": "volume 3.50, compute 2.60"}, "new", "2.60"),
        ({"OpenStack-API-Version": "compute latest"}, "new", "2.96"),
    ],
)
def test_the_handler_whose_range_holds_the_version_answers(compute: AppClient, headers: dict[str, str], handler: str, served: str) -> None:
    response = compute.get("/servers/abc", headers=headers)
    assert response.status_code == 200
    assert response.json()["handler"] == handler and response.json()["version"] == served
    assert version_headers(response)[:2] == (f"compute {served}", served)


def test_the_handler_shapes_its_body_by_version(compute: AppClient) -> None:
    response = compute.get("/servers/abc", headers={"OpenStack-API-Version": "compute 2.47"})
    assert response.json()["shape"] == "flavor-embedded"


def test_out_of_range_is_406_in_nova_format_without_version_headers(compute: AppClient) -> None:
    response = compute.get("/servers/abc", headers={"OpenStack-API-Version": "compute 2.200"})
    assert response.status_code == 406
    message = "Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is 2.96."
    assert response.json() == {"notAcceptable": {"code": 406, "message": message}}
    assert version_headers(response) == (None, None, None)


def test_malformed_is_400_in_nova_format(compute: AppClient) -> None:
    response = compute.get("/servers/abc", headers={"X-OpenStack-Nova-API-Version": "2.x"})
    assert response.status_code == 400
    message = "API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum."
    assert response.json() == {"badRequest": {"code": 400, "message": message}}
    assert version_headers(response) == (None, None, None)


def test_a_route_that_does_not_exist_at_the_version_is_404(compute: AppClient) -> None:
    response = compute.get("/servers/abc/topology", headers={"OpenStack-API-Version": "compute 2.77"})
    assert response.status_code == 404
    assert response.json() == {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}
    assert version_headers(response)[:2] == ("compute 2.77", "2.77")  # Nova names the version on faults too
    assert compute.get("/servers/abc/topology", headers={"OpenStack-API-Version": "compute 2.78"}).json() == {"nodes": []}


def test_a_handlers_fault_names_the_version(compute: AppClient) -> None:
    response = compute.delete("/servers/abc", headers={"OpenStack-API-Version": "compute 2.5"})
    assert response.status_code == 409
    assert response.json() == {"conflictingRequest": {"code": 409, "message": "busy at 2.5"}}
    assert version_headers(response) == ("compute 2.5", "2.5", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")


def test_unknown_method_is_still_405(compute: AppClient) -> None:
    response = compute.post("/servers/abc", headers={"OpenStack-API-Version": "compute 2.47"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD"


def test_head_follows_get_by_version(compute: AppClient) -> None:
    response = compute.head("/servers/abc/topology", headers={"OpenStack-API-Version": "compute 2.78"})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["OpenStack-API-Version"] == "compute 2.78"
    assert compute.head("/servers/abc/topology").status_code == 404


def test_a_handlers_own_vary_is_kept(compute: AppClient) -> None:
    response = compute.get("/own-vary")
    assert response.headers["Vary"] == "Accept, OpenStack-API-Version, X-OpenStack-Nova-API-Version"


def test_an_unversioned_router_is_untouched() -> None:
    api = ApiRouter(nova_fault)

    @api.route("GET", "/things", tx="none")
    def things(call: Call) -> dict[str, Any]:
        return {"version": call.version}

    client = AppClient(TinyApp(api))
    for headers in ({}, {"OpenStack-API-Version": "compute 2.200"}, {"X-OpenStack-Nova-API-Version": "junk"}):
        response = client.get("/things", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"version": None}
        assert version_headers(response) == (None, None, None)


def test_route_table_mistakes_fail_when_the_routes_are_built() -> None:
    unversioned = ApiRouter(nova_fault)
    unversioned.route("GET", "/x", min_version="2.5")(lambda call: {})
    with pytest.raises(ValueError, match="no microversions"):
        unversioned.starlette_routes()

    overlapping = ApiRouter(nova_fault)
    overlapping.microversions = COMPUTE
    overlapping.route("GET", "/x", max_version="2.47")(lambda call: {})
    overlapping.route("GET", "/x", min_version="2.47")(lambda call: {})
    with pytest.raises(ValueError, match="two handlers"):
        overlapping.starlette_routes()

    duplicate = ApiRouter(nova_fault)
    duplicate.route("GET", "/x")(lambda call: {})
    duplicate.route("GET", "/x")(lambda call: {})
    with pytest.raises(ValueError, match="two handlers"):
        duplicate.starlette_routes()


# -- version discovery ---------------------------------------------------------------------


def test_version_entry_renders_nova_style() -> None:
    entry = version_entry("v2.1", COMPUTE, href="http://h/compute/v2.1/", updated="2013-07-23T11:33:21Z")
    assert entry == {
        "id": "v2.1",
        "status": "CURRENT",
        "version": "2.96",
        "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": "http://h/compute/v2.1/"}],
    }


def test_version_entry_with_media_type_docs_and_an_unversioned_api() -> None:
    entry = version_entry(
        "v3.0",
        VOLUME.supported,
        href="http://h/volume/v3/",
        updated="2023-08-31T00:00:00Z",
        media_type="application/vnd.openstack.volume+json;version=3",
        docs_href="https://docs.openstack.org/",
    )
    assert (entry["version"], entry["min_version"]) == ("3.70", "3.0")
    assert entry["links"][1] == {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}
    assert entry["media-types"] == [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]
    legacy = version_entry("v2.0", VersionRange(), href="http://h/compute/v2/", updated="2011-01-21T11:33:21Z", status="SUPPORTED")
    assert (legacy["version"], legacy["min_version"], legacy["status"]) == ("", "", "SUPPORTED")
