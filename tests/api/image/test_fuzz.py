"""Generated bodies, patches and query strings against the image API: whatever arrives,
the answer is never a 5xx, errors come in Glance's format, and a refused request leaves
the image as it was.

Bounded (POCKETSTACK_FUZZ_EXAMPLES per endpoint, default 25) so the suite stays quick."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.api.identity.test_fuzz import FUZZ, json_values, texts
from tests.api.image.conftest import PATCH, Tenant, create_image

CORE = ["name", "visibility", "disk_format", "container_format", "min_disk", "min_ram", "protected", "os_hidden", "tags", "owner", "id"]
OTHER = ["status", "size", "checksum", "os_glance_x", "locations", "hw_disk_bus", "os_distro", "x" * 300]
OPS = ["add", "replace", "remove", "move", "copy", "test", ""]
PATHS = st.one_of(st.sampled_from([f"/{name}" for name in CORE + OTHER] + ["/locations/-", "/locations/0", "/", "", "/a/b", "name"]), texts)
QUERY_KEYS = ["name", "visibility", "member_status", "status", "owner", "tag", "size_min", "size_max", "created_at", "sort_key", "sort_dir", "sort", "limit", "marker", "os_hidden", "protected", "disk_format", "x"]


def check_error(reply: Any) -> None:
    assert reply.status_code < 500, reply.text
    if reply.status_code >= 400:
        body = reply.json()
        assert body["message"] and body["code"].startswith(str(reply.status_code))


@FUZZ
@given(body=st.one_of(st.dictionaries(st.sampled_from(CORE + OTHER), json_values, max_size=5), json_values))
def test_create_never_fails_on_the_server(alice: Tenant, body: Any) -> None:
    reply = alice.image.post("/v2/images", json=body)
    check_error(reply)
    if reply.status_code == 201:
        assert alice.image.delete(f"/v2/images/{reply.json()['id']}").status_code in (204, 403)


@FUZZ
@given(ops=st.one_of(st.lists(st.fixed_dictionaries({"op": st.sampled_from(OPS), "path": PATHS}, optional={"value": json_values}), max_size=4), json_values))
def test_patch_never_fails_on_the_server_and_refusals_change_nothing(alice: Tenant, ops: Any) -> None:
    image = create_image(alice.image, name="fuzzed")
    before = alice.image.get(f"/v2/images/{image['id']}").json()
    reply = alice.image.patch(f"/v2/images/{image['id']}", json=ops, headers=PATCH)
    check_error(reply)
    if reply.status_code >= 400:
        assert alice.image.get(f"/v2/images/{image['id']}").json() == before
    alice.image.patch(f"/v2/images/{image['id']}", json=[{"op": "replace", "path": "/protected", "value": False}], headers=PATCH)
    assert alice.image.delete(f"/v2/images/{image['id']}").status_code == 204


@FUZZ
@given(params=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), texts), max_size=4))
def test_list_never_fails_on_the_server(alice: Tenant, params: list[tuple[str, str]]) -> None:
    check_error(alice.image.get("/v2/images", params=[(k, v) for k, v in params if "\x00" not in v]))
