"""Generated bodies and query strings against the identity create/update/list endpoints:
whatever arrives, the answer is never a 5xx, and every error is a Keystone error body.

Bounded (FUZZ_EXAMPLES per endpoint, default 25) so the suite stays quick; raise it by
environment for a longer hunt: POCKETSTACK_FUZZ_EXAMPLES=500 scripts/test tests/api/identity/test_fuzz.py
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pocketstack.testing.spec import check_keystone_error
from tests.conftest import Identity, make_project, make_user, unique

FUZZ_EXAMPLES = int(os.environ.get("POCKETSTACK_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# text that tends to break things: empty, whitespace, unicode, NUL, long
texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "default", "admin", "None", "null", "true", "-1", "🚀" * 3, "x" * 300, "%(target)s", "../.."]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=12)

FIELDS = {
    "project": ["name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags", "options"],
    "user": ["name", "domain_id", "password", "email", "enabled", "default_project_id", "options", "description"],
    "group": ["name", "domain_id", "description"],
    "role": ["name", "domain_id", "description", "options"],
    "domain": ["name", "description", "enabled", "tags", "options"],
    "region": ["id", "description", "parent_region_id"],
    "service": ["type", "name", "enabled", "description"],
    "endpoint": ["service_id", "interface", "url", "region_id", "enabled"],
    "credential": ["type", "blob", "user_id", "project_id"],
}
COLLECTIONS = {key: f"/{key}s" for key in FIELDS}


def bodies(key: str) -> st.SearchStrategy[Any]:
    """Mostly well-shaped {key: {known fields: odd values}}, sometimes anything at all."""
    known = st.dictionaries(st.sampled_from(FIELDS[key]), json_values, max_size=len(FIELDS[key]))
    plausible = st.fixed_dictionaries({"name": texts.map(lambda s: unique("f") + s[:10])}).flatmap(
        lambda base: known.map(lambda extra: {**base, **extra})
    )
    return st.one_of(
        st.builds(lambda fields: {key: fields}, plausible),
        st.builds(lambda fields: {key: fields}, known),
        st.builds(lambda value: {key: value}, json_values),
        json_values,
    )


auth_bodies = st.recursive(
    st.fixed_dictionaries(
        {"auth": st.fixed_dictionaries({"identity": st.dictionaries(st.sampled_from(["methods", "password", "token", "application_credential"]), json_values, max_size=3)})}
    ),
    lambda inner: inner.map(lambda b: {**b, "auth": {**b["auth"], "scope": {"project": {"id": "x"}}}}),
    max_leaves=2,
) | json_values


def assert_not_a_server_error(reply: httpx.Response) -> None:
    request = reply.request
    where = f"{request.method} {request.url} body={request.content[:300]!r}"
    assert reply.status_code < 500, f"{where} -> {reply.status_code} {reply.text[:500]}"
    if reply.status_code >= 400 and reply.request.method != "HEAD":
        check_keystone_error(reply.json(), reply.status_code)


@pytest.mark.parametrize("key", list(FIELDS))
def test_create_never_fails_with_a_server_error(admin: Identity, key: str) -> None:
    @FUZZ
    @given(body=bodies(key))
    def run(body: Any) -> None:
        assert_not_a_server_error(admin.post(COLLECTIONS[key], json=body))

    run()


@pytest.fixture(scope="module")
def targets(admin: Identity) -> dict[str, str]:
    """One resource of each kind for PATCH to aim at (some may not exist yet: then the
    PATCH answers 404, which is also not a server error)."""
    made: dict[str, str] = {"project": make_project(admin)["id"], "user": make_user(admin)[0]["id"]}
    for key, body in (
        ("group", {"name": unique("g"), "domain_id": "default"}),
        ("role", {"name": unique("r")}),
        ("domain", {"name": unique("d")}),
        ("region", {"id": unique("R")}),
        ("service", {"type": unique("svc")}),
    ):
        reply = admin.post(COLLECTIONS[key], json={key: body})
        made[key] = reply.json()[key]["id"] if reply.status_code == 201 else "missing"
    return made


@pytest.mark.parametrize("key", ["project", "user", "group", "role", "domain", "region", "service"])
def test_update_never_fails_with_a_server_error(admin: Identity, targets: dict[str, str], key: str) -> None:
    @FUZZ
    @given(body=bodies(key))
    def run(body: Any) -> None:
        assert_not_a_server_error(admin.patch(f"{COLLECTIONS[key]}/{targets[key]}", json=body))

    run()


def test_token_requests_never_fail_with_a_server_error(admin: Identity) -> None:
    @FUZZ
    @given(body=auth_bodies)
    def run(body: Any) -> None:
        reply = httpx.post(admin.cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)
        assert_not_a_server_error(reply)
        assert reply.status_code != 201  # nothing generated here holds a real credential

    run()


@pytest.mark.parametrize("path", ["/projects", "/users", "/groups", "/roles", "/domains", "/role_assignments", "/endpoints", "/services", "/regions", "/credentials"])
def test_list_filters_never_fail_with_a_server_error(admin: Identity, path: str) -> None:
    names = st.sampled_from(["name", "domain_id", "enabled", "limit", "marker", "parent_id", "is_domain", "tags", "tags-any", "user.id", "scope.project.id", "effective", "include_names", "type", "interface", "password_expires_at", "name__contains"])

    @FUZZ
    @given(params=st.dictionaries(names | texts, texts, max_size=4))
    def run(params: dict[str, str]) -> None:
        assert_not_a_server_error(admin.get(path, params=params))

    run()


def test_raw_bytes_never_fail_with_a_server_error(admin: Identity) -> None:
    @FUZZ
    @given(raw=st.binary(max_size=200), path=st.sampled_from(["/projects", "/users", "/auth/tokens", "/roles"]))
    def run(raw: bytes, path: str) -> None:
        assert_not_a_server_error(admin.post(path, content=raw, headers={"Content-Type": "application/json"}))

    run()
