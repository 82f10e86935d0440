"""pocketstack.testing.spec: finding an operation's response schema and checking bodies."""

from __future__ import annotations

import pytest

from pocketstack.testing.spec import ERRATA, ApiSpec, SpecMismatch, check_keystone_error, load_spec, validate_body

DOC = {
    "paths": {
        "/v3/things/{thing_id}": {
            "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}},
        },
        "/v3/things/special": {
            "get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "object", "required": ["special"]}}}}}},
        },
        "/v3/things": {
            "post": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}},
        },
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["thing"],
                "properties": {
                    "thing": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string", "format": "uuid"}, "expires": {"type": "string"}},
                    }
                },
            }
        }
    },
}


def test_concrete_paths_find_their_template_static_segments_first() -> None:
    spec = ApiSpec(DOC)
    assert spec.find("GET", "/v3/things/abc").template == "/v3/things/{thing_id}"  # type: ignore[union-attr]
    assert spec.find("GET", "/v3/things/special").template == "/v3/things/special"  # type: ignore[union-attr]
    assert spec.find("get", "/v3/things/abc/?x=1") is not None
    assert spec.find("DELETE", "/v3/things/abc") is None
    with pytest.raises(SpecMismatch):
        spec.check("GET", "/v3/nothing", 200, {})


def test_bodies_are_checked_through_refs() -> None:
    spec = ApiSpec(DOC)
    spec.check("GET", "/v3/things/abc", 200, {"thing": {"id": "0123abcd"}})  # format is not enforced
    with pytest.raises(SpecMismatch, match="thing/id"):
        spec.check("GET", "/v3/things/abc", 200, {"thing": {"id": 5}})
    with pytest.raises(SpecMismatch):
        spec.check("GET", "/v3/things/abc", 200, {"other": {}})


def test_ip_address_formats_tell_a_oneof_apart() -> None:
    either = {"oneOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}
    for address in ("10.0.0.1", "fd00::1"):
        validate_body(address, either)
    validate_body("", {"type": "string", "format": "ipv4"})  # Nova's accessIPv4 when none is set
    with pytest.raises(SpecMismatch):
        validate_body("not an address", either)


def test_created_status_uses_the_documented_success_schema() -> None:
    spec = ApiSpec(DOC)
    with pytest.raises(SpecMismatch):
        spec.check("POST", "/v3/things", 201, {"thing": {}})
    spec.check("POST", "/v3/things", 201, {"thing": {"id": "x"}})
    spec.check("GET", "/v3/things/abc", 404, {"anything": "goes"})  # errors have no schema here


def test_errata_rewrite_properties_by_name() -> None:
    spec = ApiSpec(DOC, {"expires": lambda schema: {**schema, "type": ["string", "null"]}})
    spec.check("GET", "/v3/things/abc", 200, {"thing": {"id": "x", "expires": None}})
    with pytest.raises(SpecMismatch):
        ApiSpec(DOC).check("GET", "/v3/things/abc", 200, {"thing": {"id": "x", "expires": None}})


def test_keystone_error_bodies() -> None:
    check_keystone_error({"error": {"code": 404, "title": "Not Found", "message": "gone"}}, 404)
    with pytest.raises(SpecMismatch):
        check_keystone_error({"error": {"code": 400, "title": "Bad Request", "message": "x"}}, 404)
    with pytest.raises(SpecMismatch):
        check_keystone_error({"detail": "nope"}, 400)


def test_identity_spec_loads_with_its_errata() -> None:
    spec = load_spec("identity")
    if spec is None:
        pytest.skip("../shared/api-specs is not present")
    assert "identity" in ERRATA
    assert spec.find("POST", "/v3/auth/tokens") is not None
    assert spec.find("GET", "/v3/domains/config/default").template == "/v3/domains/config/default"  # type: ignore[union-attr]
    spec.check("GET", "/v3/projects/abc", 200, {"project": {"id": "abc", "name": "p", "domain_id": "default", "enabled": True, "links": {"self": "http://x"}}})
