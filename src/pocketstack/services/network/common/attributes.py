"""Request bodies the way Neutron reads them, validated with pydantic.

    items = parse_create(call, "network", NetworkCreate, known=NETWORK_ATTRIBUTES)
    for item in items:            # one, or several for a bulk {"networks": [...]} body
        item.values.name, item.explicit, item.project_id

Neutron's wording is kept, because clients and people read it: an attribute the resource
does not have is "Unrecognized attribute(s) 'x'", a read-only one "Cannot update
read-only attribute x", a missing one "Failed to parse request. Required attribute 'x'
not specified", and a bad value "Invalid input for x. Reason: ...". Value types below
(NeutronBool, Name, IpAddress, ...) raise ValueError with Neutron's reason text.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from pocketstack.core.api import Call
from pocketstack.core.faults import BadRequest

M = TypeVar("M", bound=BaseModel)

TRUE_WORDS = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_WORDS = frozenset({"0", "f", "false", "off", "n", "no"})
MAC_PATTERN = re.compile(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}")


class NeutronBody(BaseModel):
    """A resource body: attributes by their API names (aliases such as "router:external")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


# -- value types -------------------------------------------------------------------------
def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"'{value}' cannot be converted to boolean")


def to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", value):
        return int(value)
    raise ValueError(f"'{value}' is not an integer")


def string(max_length: int | None = 255) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"'{value}' is not a valid string")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"'{value}' exceeds maximum length of {max_length}")
        return value

    return check


def integer_range(minimum: int, maximum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = to_integer(value)
        if number < minimum:
            raise ValueError(f"'{number}' is too small - must be at least '{minimum}'")
        if number > maximum:
            raise ValueError(f"'{number}' is too large - must be no more than '{maximum}'")
        return number

    return check


def to_uuid(value: Any) -> str:
    if isinstance(value, str):
        try:
            uuid.UUID(value)
            return value
        except ValueError:
            pass
    raise ValueError(f"'{value}' is not a valid UUID")


def to_ip_address(value: Any) -> str:
    """An IPv4 or IPv6 address, returned in canonical form. Like Neutron, IPv4 with
    leading zeros ("010.0.0.1", octal or decimal?) and shorthand forms are refused."""
    if not isinstance(value, str) or value != value.strip() or not value or "%" in value:
        raise ValueError(f"'{value}' is not a valid IP address")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None
    if address.version == 4 and str(address) != value:
        raise ValueError(f"'{value}' is not an accepted IP address, '{address}' is recommended")
    return str(address)


def to_cidr(value: Any) -> str:
    """A subnet in CIDR notation. IPv4 must be written as its network ("10.0.0.0/24",
    not "10.0.0.1/24"), as Neutron insists; IPv6 host bits are cleared."""
    if not isinstance(value, str) or "/" not in value or value != value.strip() or "%" in value:
        raise ValueError(f"'{value}' is not a valid IP subnet")
    try:
        network = ipaddress.ip_network(value, strict=False)
        address = ipaddress.ip_address(value.split("/", 1)[0])
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    if network.version == 4 and str(network) != value:
        if str(address) == value.split("/", 1)[0] and network.network_address != address:
            raise ValueError(f"'{value}' isn't a recognized IP subnet cidr, '{network}' is recommended")
        raise ValueError(f"'{value}' is not a valid IP subnet")
    return str(network)


def to_ip_or_cidr(value: Any) -> str:
    """An address or a network ("10.0.0.5", "10.0.0.0/24"), as allowed address pairs take;
    kept as written once valid."""
    if isinstance(value, str) and "/" in value:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{value}' is neither a valid IP address, nor is it a valid IP subnet") from None
        if value != value.strip():
            raise ValueError(f"'{value}' contains whitespace")
        return value
    return to_ip_address(value)


def to_mac(value: Any) -> str:
    """A unicast, non-zero MAC address, returned lower case with colons."""
    if not isinstance(value, str) or not MAC_PATTERN.fullmatch(value):
        raise ValueError(f"'{value}' is not a valid MAC address")
    mac = value.lower().replace("-", ":")
    if mac == "00:00:00:00:00:00" or int(mac[:2], 16) & 1:
        raise ValueError(f"'{value}' is not a valid MAC address")
    return mac


def list_of(item: Callable[[Any], Any], *, unique: bool = True, what: str = "list") -> Callable[[Any], list[Any]]:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError(f"'{value}' is not a {what}")
        items = [item(entry) for entry in value]
        if unique:
            seen: set[Any] = set()
            for entry in items:
                key = repr(entry)
                if key in seen:
                    raise ValueError(f"Duplicate items in the list: '{entry}'")
                seen.add(key)
        return items

    return check


def none_or(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


NeutronBool = Annotated[bool, BeforeValidator(to_boolean)]
Name = Annotated[str, BeforeValidator(string(255))]
Description = Annotated[str, BeforeValidator(string(255))]
Uuid = Annotated[str, BeforeValidator(to_uuid)]
IpAddress = Annotated[str, BeforeValidator(to_ip_address)]
Cidr = Annotated[str, BeforeValidator(to_cidr)]
MacAddress = Annotated[str, BeforeValidator(to_mac)]
Tags = Annotated[list[str], BeforeValidator(list_of(string(255)))]


# -- bodies ------------------------------------------------------------------------------
@dataclass
class Parsed(Generic[M]):
    """One resource of a request body."""

    values: M
    explicit: set[str]  # API names the caller set (to a value other than the default, on create)
    project_id: str | None  # the owner named in the body (project_id or tenant_id), if any


def _api_names(model: type[BaseModel]) -> dict[str, str]:
    """field name -> API name (its alias)."""
    return {name: field.alias or name for name, field in model.model_fields.items()}


def _items(call: Call, resource: str, bulk: bool) -> list[Any]:
    data = call.json()
    collection = resource + "s"
    if not isinstance(data, dict):
        raise BadRequest("Body contains invalid data")
    if bulk and collection in data:
        items = data[collection]
        if not isinstance(items, list) or not items:
            raise BadRequest("Resources required")
        return [item.get(resource, item) if isinstance(item, dict) and set(item) == {resource} else item for item in items]
    if resource not in data:
        raise BadRequest(f"Unable to find '{resource}' in request body")
    return [data[resource]]


def _owner(call: Call, item: dict[str, Any]) -> str | None:
    """The project named in a body (project_id and tenant_id must agree); only admins
    may name another project than their own."""
    named = {key: item.pop(key) for key in ("project_id", "tenant_id") if key in item}
    if not named:
        return None
    values = set(named.values())
    if len(values) > 1:
        raise BadRequest("'project_id' and 'tenant_id' do not match")
    (project_id,) = values
    if not isinstance(project_id, str) or len(project_id) > 255:
        raise BadRequest(f"Invalid input for project_id. Reason: '{project_id}' is not a valid string.")
    if project_id != call.ctx.project_id and not call.ctx.is_admin:
        raise BadRequest("Specifying 'project_id' other than the authenticated project in request is not allowed for the current user.")
    return project_id


def _check_keys(item: dict[str, Any], model: type[BaseModel], known: Iterable[str], *, creating: bool) -> None:
    writable = set(_api_names(model).values())
    keys = set(item)
    unknown = sorted(keys - writable - set(known))
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    read_only = sorted(keys - writable)
    if read_only:
        if creating:
            raise BadRequest(f"Attribute '{read_only[0]}' not allowed in POST")
        raise BadRequest(f"Cannot update read-only attribute {read_only[0]}")


def validate_body(model: type[M], item: Any, resource: str) -> M:
    if not isinstance(item, dict):
        raise BadRequest(f"Object '{resource}' contains invalid data")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """Neutron's wording for the first problem pydantic found."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    if error["type"] == "missing":
        return f"Failed to parse request. Required attribute '{where}' not specified"
    reason = error["msg"].removeprefix("Value error, ").rstrip(".")
    attribute = str(error["loc"][0]) if error["loc"] else "body"
    return f"Invalid input for {attribute}. Reason: {reason}."


def _explicit(values: BaseModel, *, creating: bool) -> set[str]:
    names = _api_names(type(values))
    chosen = set()
    for name in values.model_fields_set:
        field = type(values).model_fields[name]
        if creating and not field.is_required() and getattr(values, name) == field.get_default(call_default_factory=True):
            continue  # Neutron: a create that states the default sets nothing
        chosen.add(names[name])
    return chosen


def parse_create(call: Call, resource: str, model: type[M], *, known: Iterable[str], bulk: bool = True) -> list[Parsed[M]]:
    parsed = []
    for item in _items(call, resource, bulk):
        if not isinstance(item, dict):
            raise BadRequest(f"Object '{resource}' contains invalid data")
        item = dict(item)
        owner = _owner(call, item)
        _check_keys(item, model, known, creating=True)
        values = validate_body(model, item, resource)
        parsed.append(Parsed(values, _explicit(values, creating=True), owner))
    return parsed


def parse_update(call: Call, resource: str, model: type[M], *, known: Iterable[str]) -> Parsed[M]:
    (item,) = _items(call, resource, bulk=False)
    if not isinstance(item, dict):
        raise BadRequest(f"Object '{resource}' contains invalid data")
    item = dict(item)
    for key in ("project_id", "tenant_id"):
        if key in item:
            raise BadRequest(f"Cannot update read-only attribute {key}")
    _check_keys(item, model, known, creating=False)
    values = validate_body(model, item, resource)
    return Parsed(values, _explicit(values, creating=False), None)


def changes(parsed: Parsed[Any]) -> dict[str, Any]:
    """field name -> new value, for the fields an update names."""
    return {name: getattr(parsed.values, name) for name in parsed.values.model_fields_set}
