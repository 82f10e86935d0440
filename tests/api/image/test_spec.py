"""Response bodies of the image API match Glance's OpenAPI description
(../shared/api-specs/openapi/specs/image/v2.16.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from pocketstack.testing.spec import ApiSpec, load_spec
from tests.api.image.conftest import OCTET, PATCH, Tenant
from tests.conftest import ServiceClient


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    loaded = load_spec("image")
    if loaded is None:
        pytest.skip("../shared/api-specs (the OpenAPI descriptions) is not present")
    return loaded


def call(spec: ApiSpec, client: ServiceClient, method: str, path: str, expected: int, **kw: Any) -> Any:
    reply = client.request(method, path, **kw)
    assert reply.status_code == expected, f"{method} {path}: {reply.status_code} {reply.text[:500]}"
    body = reply.json() if reply.content else {}
    spec.check(method, path, expected, body)
    return body


def test_image_operations(spec: ApiSpec, alice: Tenant, bob: Tenant) -> None:
    client = alice.image
    image = call(spec, client, "POST", "/v2/images", 201, json={"name": "spec", "disk_format": "raw", "container_format": "bare", "tags": ["t"], "k": "v"})
    one = f"/v2/images/{image['id']}"
    call(spec, client, "GET", one, 200)
    call(spec, client, "PATCH", one, 200, json=[{"op": "add", "path": "/x", "value": "y"}], headers=PATCH)
    call(spec, client, "PUT", f"{one}/file", 204, content=b"\0" * 4096, headers=OCTET)
    call(spec, client, "GET", one, 200)
    call(spec, client, "GET", "/v2/images?limit=1", 200)
    call(spec, client, "GET", "/v2/images", 200)
    member = call(spec, client, "POST", f"{one}/members", 200, json={"member": bob.project_id})
    call(spec, client, "GET", f"{one}/members", 200)
    call(spec, client, "GET", f"{one}/members/{member['member_id']}", 200)
    call(spec, bob.image, "PUT", f"{one}/members/{bob.project_id}", 200, json={"status": "accepted"})
    call(spec, client, "GET", f"{one}/tasks", 200)


def test_info_documents(spec: ApiSpec, glance: ServiceClient) -> None:
    call(spec, glance, "GET", "/v2/info/import", 200)
    call(spec, glance, "GET", "/v2/info/stores", 200)
    call(spec, glance, "GET", "/v2/info/stores/detail", 200)
    call(spec, glance, "GET", "/v2/info/usage", 200)
    call(spec, glance, "GET", "/v2/tasks", 200)
