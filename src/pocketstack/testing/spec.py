"""Check response bodies against the OpenStack OpenAPI descriptions in ../shared/api-specs.

    spec = load_spec("identity")              # None when the shared tree is absent
    spec.check("GET", "/v3/projects/abc", 200, reply.json())   # raises SpecMismatch

The path may be concrete ("/v3/projects/abc") or the template itself; the schema is
the one the spec gives for that operation's status, or for its documented success
status when ours differs only in flavour (the specs say 200 where Keystone creates
with 201). Schemas are JSON Schema 2020-12 (OpenAPI 3.1); `format` is not enforced,
because the specs call Keystone's hex ids "uuid".
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# the newest spec of each service, as the files are named in api-specs/openapi/specs/<service>/
SPEC_FILES = {
    "identity": "identity/v3.14.yaml",
    "image": "image/v2.16.yaml",
    "compute": "compute/v2.96.yaml",
    "network": "network/v2.yaml",
}

# Keystone's error body (keystone.exception.Error): every 4xx/5xx from the identity API
KEYSTONE_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "title", "message"],
            "properties": {
                "code": {"type": "integer", "minimum": 400, "maximum": 599},
                "title": {"type": "string", "minLength": 1},
                "message": {"type": "string", "minLength": 1},
            },
        }
    },
}


# Where a generated spec and the real service disagree, the real service (and the stock
# clients built against it) wins. Each erratum rewrites a property schema, by name,
# wherever it appears in that service's spec.
KEYSTONE_LINKS = {
    "type": "object",
    "properties": {"self": {"type": "string"}, "next": {"type": ["string", "null"]}, "previous": {"type": ["string", "null"]}},
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]} if kind and "null" not in kinds else schema


def _keystone_links(schema: dict[str, Any]) -> dict[str, Any]:
    return KEYSTONE_LINKS if schema.get("type") == "array" else schema


def _open_items(schema: dict[str, Any]) -> dict[str, Any]:
    items = schema.get("items")
    if not isinstance(items, dict):
        return schema
    opened = {k: v for k, v in items.items() if k not in ("maxProperties", "additionalProperties")}
    return {**schema, "items": opened}


def _open_object(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "additionalProperties"}


def _usage_object(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") != "array":
        return schema
    counter = {"type": "object", "required": ["limit", "usage"], "properties": {"limit": {"type": "integer"}, "usage": {"type": "integer"}}}
    return {"type": "object", "additionalProperties": counter}


def _draft4_exclusive_minimum(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("exclusiveMinimum") is not True or "minimum" not in schema:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("minimum", "exclusiveMinimum")}
    return {**rest, "exclusiveMinimum": schema["minimum"]}


def _nova_flavor(schema: dict[str, Any]) -> dict[str, Any]:
    """A flavor as Nova shows it also says whether it is disabled and, from 2.55, its
    description (null when it has none); the spec's closed flavor object omits both."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": _nova_flavor(schema["items"])}
    properties = schema.get("properties")
    if not isinstance(properties, dict) or "ram" not in properties:
        return schema
    extra = {"OS-FLV-DISABLED:disabled": {"type": "boolean"}, "description": {"type": ["string", "null"]}}
    return {**schema, "properties": {**extra, **properties}}


def _nullable_integer(schema: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in schema.items() if k != "type"}, "type": ["integer", "null"]}


def _nullable_enum(schema: dict[str, Any]) -> dict[str, Any]:
    schema = _nullable(schema)
    return {**schema, "enum": [*schema["enum"], None]} if "enum" in schema and None not in schema["enum"] else schema


ERRATA: dict[str, dict[str, Any]] = {
    "network": {
        # Neutron writes "no value" as null: no gateway, no IPv6 modes, no physical network
        # or segmentation id (VXLAN, flat), rules without protocol, ports or remote
        "gateway_ip": _nullable,
        "ipv6_ra_mode": _nullable_enum,
        "ipv6_address_mode": _nullable_enum,
        "provider:physical_network": _nullable,
        "provider:segmentation_id": _nullable,
        "protocol": _nullable,
        "remote_group_id": _nullable,
        "remote_ip_prefix": _nullable,
        # rule port ranges are integers (the spec says string)
        "port_range_min": _nullable_integer,
        "port_range_max": _nullable_integer,
        # a group shows its rules as a list of rule objects, l2_adjacency is a boolean
        "security_group_rules": lambda s: {"type": "array", "items": {"type": "object"}} if s.get("type") == "string" else s,
        "l2_adjacency": lambda s: {**s, "type": ["string", "boolean"]} if s.get("type") == "string" else s,
    },
    "compute": {
        # before 2.75 Nova shows "no swap" as "" (the spec's own text says so; its
        # pattern ^[0-9]+$ forbids it)
        "swap": lambda s: {**s, "pattern": "^[0-9]*$"} if s.get("pattern") == "^[0-9]+$" else s,
        # flavor descriptions (2.55+) are null when none was given
        "description": _nullable,
        # an aggregate without a zone shows "availability_zone": null (Nova's own response schema)
        "availability_zone": _nullable,
        # an enabled service has "disabled_reason": null (Nova's services and hypervisors schemas)
        "disabled_reason": _nullable,
        # a hypervisor whose uptime is unknown shows null (2.88+, Nova's schema)
        "uptime": _nullable,
        # the hosts of an unavailable zone are null in os-availability-zone/detail (Nova's schema)
        "hosts": lambda s: _nullable(s) if s.get("type") == "object" else s,
        "flavor": _nova_flavor,
        "flavors": _nova_flavor,
        # servers write "not yet / none" as null, as Nova's own response schemas allow:
        # no task running, never terminated, no key, no host yet, no lock reason
        **{
            name: _nullable
            for name in (
                "OS-EXT-STS:task_state",
                "OS-SRV-USG:launched_at",
                "OS-SRV-USG:terminated_at",
                "key_name",
                "OS-EXT-SRV-ATTR:host",
                "OS-EXT-SRV-ATTR:hypervisor_hostname",
                "OS-EXT-SRV-ATTR:user_data",
                "locked_reason",
                "pinned_availability_zone",
                "trusted_image_certificates",
            )
        },
        # written in draft 4's words (exclusiveMinimum: true beside minimum: 0), which
        # 2020-12 reads as "more than 1": the factor must be more than 0
        "rxtx_factor": _draft4_exclusive_minimum,
    },
    "image": {
        # GET /v2/info/usage answers {"usage": {"image_size_total": {"limit": L, "usage": U}, ...}}
        # (Glance's api-ref and glance/api/v2/discovery.py); the spec calls it an array
        "usage": _usage_object,
        # Glance marks the default store with the string "true" (glance/api/v2/discovery.py,
        # and Tempest compares "read-only" with 'true' the same way); the spec says boolean
        "default": lambda s: {**s, "type": ["boolean", "string"]} if s.get("type") == "boolean" else s,
        # API v2.17 (newer than the spec's v2.16) adds the add-location task type
        "type": lambda s: {**s, "enum": [*s["enum"], "location_import"]} if s.get("enum") == ["import", "api_image_import"] else s,
    },
    "identity": {
        # Keystone sends "password_expires_at": null for passwords that never expire,
        # and "description": null for roles (and others) created without one
        "password_expires_at": _nullable,
        "description": _nullable,
        # Keystone's links are always an object ({"self", "next", "previous"}); the spec
        # calls some of them (GET /v3/auth/projects, /v3/auth/domains) arrays
        "links": _keystone_links,
        # application credentials show their roles whole (Keystone's get_role), where
        # the spec reuses the one-key {"id"} | {"name"} reference of the request
        "roles": _open_items,
        # Keystone's own response schema gives each access rule its self link; the spec
        # forbids any property beyond id, service, path, method
        "access_rules": _open_items,
        "access_rule": _open_object,
    },
}


class SpecMismatch(AssertionError):
    """The body does not match the spec (an AssertionError, so pytest shows it as one)."""


def repo_root() -> Path:
    """The checkout this package runs from (the directory holding pyproject.toml)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def shared_dir() -> Path | None:
    """../shared beside the checkout (POCKETSTACK_SHARED overrides), if present."""
    configured = os.environ.get("POCKETSTACK_SHARED")
    candidate = Path(configured) if configured else repo_root().parent / "shared"
    return candidate if candidate.is_dir() else None


def specs_dir() -> Path | None:
    shared = shared_dir()
    found = shared / "api-specs" / "openapi" / "specs" if shared else None
    return found if found and found.is_dir() else None


@dataclass
class Operation:
    method: str
    template: str
    responses: dict[str, Any]


class ApiSpec:
    def __init__(self, document: dict[str, Any], errata: dict[str, Any] | None = None) -> None:
        self.document = _apply_errata(document, errata or {})
        self.components = self.document.get("components", {})
        self.operations: list[Operation] = []
        for template, item in document.get("paths", {}).items():
            for method, op in item.items():
                if method in ("get", "head", "post", "put", "patch", "delete") and isinstance(op, dict):
                    self.operations.append(Operation(method.upper(), template, op.get("responses", {})))
        # static segments first, so /v3/domains/config/default beats /v3/domains/{domain_id}/config
        self.operations.sort(key=lambda o: tuple(1 if s.startswith("{") else 0 for s in o.template.split("/")))
        self._patterns = {o.template: _template_regex(o.template) for o in self.operations}

    @classmethod
    def from_file(cls, path: Path, errata: dict[str, Any] | None = None) -> ApiSpec:
        with open(path) as f:
            # the C loader when present: the identity spec is half a megabyte
            return cls(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), errata)

    def find(self, method: str, path: str) -> Operation | None:
        path = path.split("?", 1)[0].rstrip("/") or "/"
        for op in self.operations:
            if op.method == method.upper() and (op.template == path or self._patterns[op.template].fullmatch(path)):
                return op
        return None

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        op = self.find(method, path)
        if op is None:
            raise SpecMismatch(f"{method} {path} is not an operation of the spec")
        chosen = op.responses.get(str(status))
        if chosen is None and 200 <= status < 300:
            chosen = next((r for code, r in op.responses.items() if code.startswith("2") and _schema_of(r)), None)
        return _schema_of(chosen) if chosen else None

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        """Raise SpecMismatch when `body` does not match; a body the spec leaves
        undescribed passes."""
        schema = self.response_schema(method, path, status)
        if schema is not None:
            validate_body(body, {**schema, "components": self.components}, f"{method} {path} {status}")


def _address_formats() -> Any:
    """Formats are annotations here (the specs say "uuid" where Keystone's ids are 32 hex
    digits), except IP addresses: a oneOf of ipv4 and ipv6 tells them apart only when they
    are checked. "" passes both: Nova's accessIPv4/accessIPv6 when none is set."""
    import ipaddress

    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, kind in (("ipv4", ipaddress.IPv4Address), ("ipv6", ipaddress.IPv6Address)):
        checker.checks(name, raises=ValueError)(lambda value, kind=kind: not isinstance(value, str) or value == "" or bool(kind(value)))
    return checker


def validate_body(body: Any, schema: dict[str, Any], where: str = "body") -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=_address_formats())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:300]}" for e in errors[:10]]
        raise SpecMismatch(f"{where} does not match the spec:\n" + "\n".join(lines))


def check_keystone_error(body: Any, status: int) -> None:
    validate_body(body, KEYSTONE_ERROR_SCHEMA, f"error body ({status})")
    if body["error"]["code"] != status:
        raise SpecMismatch(f"error code {body['error']['code']} in the body, {status} on the wire")


@functools.lru_cache(maxsize=None)
def load_spec(service: str) -> ApiSpec | None:
    """The parsed spec of a service, or None when ../shared/api-specs is not there."""
    root = specs_dir()
    if root is None or not (root / SPEC_FILES[service]).is_file():
        return None
    return ApiSpec.from_file(root / SPEC_FILES[service], ERRATA.get(service))


def _apply_errata(node: Any, errata: dict[str, Any]) -> Any:
    """A copy of a spec document with each erratum applied to every property it names."""
    if isinstance(node, list):
        return [_apply_errata(item, errata) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _apply_errata(value, errata) for key, value in node.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):
        for name, fix in errata.items():
            if isinstance(properties.get(name), dict):
                properties[name] = fix(properties[name])
    return out


def _schema_of(response: dict[str, Any] | None) -> dict[str, Any] | None:
    if not response:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))
