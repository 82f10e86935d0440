"""What a flavor request may say, as Nova's JSON schemas put it
(nova/api/openstack/compute/schemas/flavor_manage.py, flavor_access.py,
flavors_extraspecs.py): sizes are integers or digit strings, ids a restricted
alphabet, names and descriptions printable text, booleans Nova's spellings."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

INT32_MAX = 2**31 - 1
SQL_FLOAT_MAX = 3.40282e38  # a single-precision float column's limit (Nova's SQL_SP_FLOAT_MAX)
MAX_DESCRIPTION = 65535
FLAVOR_ID_PATTERN = re.compile(r"(?! )[a-zA-Z0-9. _-]+(?<! )")
EXTRA_SPEC_KEY_PATTERN = re.compile(r"[a-zA-Z0-9\-_:. ]{1,255}")
DIGITS = re.compile(r"[0-9]+")
RXTX_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)?")
# Nova's parameter_types.boolean: what a client may send for a boolean field
TRUE_WORDS = ("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes")
FALSE_WORDS = ("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no")
# unicode categories Nova's "printable" excludes from names and descriptions: controls,
# format characters, surrogates, private use, unassigned, line and paragraph separators
UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def is_printable(text: str) -> bool:
    return all(unicodedata.category(char) not in UNPRINTABLE for char in text)


def _size(minimum: int) -> Any:
    """An integer field that also takes a digit string ("512"), within [minimum, INT32_MAX]."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"{value!r} is not of type 'integer', 'string'")
        if isinstance(value, str):
            if not DIGITS.fullmatch(value):
                raise ValueError(f"{value[:40]!r} does not match '^[0-9]+$'")
            if len(value) > 10:  # longer than any int32: spare int() a huge string
                raise ValueError(f"{value[:40]} is greater than the maximum of {INT32_MAX}")
            value = int(value)
        if value < minimum:
            raise ValueError(f"{value} is less than the minimum of {minimum}")
        if value > INT32_MAX:
            raise ValueError(f"{value} is greater than the maximum of {INT32_MAX}")
        return value

    return Annotated[int, BeforeValidator(check)]


PositiveSize = _size(1)
NonNegativeSize = _size(0)


def _rxtx_factor(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not of type 'number', 'string'")
    if isinstance(value, str):
        if len(value) > 64 or not RXTX_PATTERN.fullmatch(value):
            raise ValueError(f"{value[:40]!r} does not match '^[0-9]+(\\.[0-9]+)?$'")
        value = float(value)
    if not 0 < value <= SQL_FLOAT_MAX:
        raise ValueError(f"{value} is not a number greater than 0 and at most {SQL_FLOAT_MAX}")
    return float(value)


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"{str(value)[:40]!r} is not one of the accepted boolean values")


def _flavor_id(value: Any) -> str | None:
    """Nova takes an id as a string, a number (stored as its string) or null (a UUID is made)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not of type 'string', 'number', 'null'")
    if isinstance(value, str):
        if not 1 <= len(value) <= 255:
            raise ValueError("must be 1 to 255 characters long")
        if not FLAVOR_ID_PATTERN.fullmatch(value):
            raise ValueError(f"{value[:40]!r} may only hold letters, digits, '-', '_', '.' and inner spaces")
        return value
    return str(value)


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not of type 'string'")
    if not 1 <= len(value) <= 255:
        raise ValueError("must be 1 to 255 characters long")
    if value.strip() != value or not is_printable(value):
        raise ValueError(f"{value[:40]!r} is not a valid name: no leading or trailing spaces, printable characters only")
    return value


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not of type 'string', 'null'")
    if len(value) > MAX_DESCRIPTION:
        raise ValueError(f"is longer than {MAX_DESCRIPTION} characters")
    if not is_printable(value):
        raise ValueError("may hold printable characters only")
    return value


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class FlavorCreate(_Closed):
    """POST /flavors `flavor` before 2.55."""

    name: Annotated[str, BeforeValidator(_name)]
    id: Annotated[str | None, BeforeValidator(_flavor_id)] = None
    ram: PositiveSize
    vcpus: PositiveSize
    disk: NonNegativeSize
    ephemeral: NonNegativeSize = Field(0, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: NonNegativeSize = 0
    rxtx_factor: Annotated[float, BeforeValidator(_rxtx_factor)] = 1.0
    is_public: Annotated[bool, BeforeValidator(parse_boolean)] = Field(True, alias="os-flavor-access:is_public")


class FlavorCreateV255(FlavorCreate):
    """From 2.55 a flavor may carry a description."""

    description: Annotated[str | None, BeforeValidator(_description)] = None


class CreateFlavorBody(_Closed):
    flavor: FlavorCreate


class CreateFlavorBodyV255(_Closed):
    flavor: FlavorCreateV255


class FlavorUpdate(_Closed):
    """PUT /flavors/{id} (2.55+): the description is the only thing that changes."""

    description: Annotated[str | None, BeforeValidator(_description)]


class UpdateFlavorBody(_Closed):
    flavor: FlavorUpdate


class TenantAccess(_Closed):
    tenant: Annotated[str, Field(min_length=1, max_length=255, strict=True)]


def extra_spec_value(key: Any, value: Any) -> str:
    """One extra spec, as Nova's schema allows it: a key of [a-zA-Z0-9-_:. ] and a string
    or number value of at most 255 characters. Returns the value to store (a string)."""
    if not isinstance(key, str) or not EXTRA_SPEC_KEY_PATTERN.fullmatch(key):
        raise ValueError(f"extra spec key {str(key)[:60]!r} may only hold letters, digits, '-', '_', ':', '.' and spaces (1 to 255)")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"value of {key!r} must be a string or a number")
    text = value if isinstance(value, str) else str(value)
    if len(text) > 255:
        raise ValueError(f"value of {key!r} is longer than 255 characters")
    return text


# -- 2.86: values of well-known extra specs are checked ------------------------------------
# A few of Nova's registered extra specs (nova/api/validation/extra_specs/), by exact name
# or by pattern. Nova also refuses unknown keys inside its own namespaces ("hw:colour");
# with only part of its registry here, any key not listed is accepted.
_BOOLEAN_WORDS = ("true", "false", "yes", "no", "1", "0", "on", "off", "t", "f", "y", "n")
_PAGE_SIZE = re.compile(r"(small|large|any|[0-9]+([kKmMgGtT]i?[bB]?)?)")
_KNOWN_EXTRA_SPECS: tuple[tuple[re.Pattern[str], str, Any], ...] = (
    (re.compile(r"hw:cpu_policy"), "one of dedicated, shared, mixed", lambda v: v in ("dedicated", "shared", "mixed")),
    (re.compile(r"hw:cpu_thread_policy"), "one of prefer, isolate, require", lambda v: v in ("prefer", "isolate", "require")),
    (re.compile(r"hw:numa_nodes"), "an integer of at least 1", lambda v: v.isdigit() and int(v) >= 1),
    (re.compile(r"hw:mem_page_size"), "small, large, any or a size", lambda v: _PAGE_SIZE.fullmatch(v) is not None),
    (re.compile(r"hw:cpu_realtime"), "a boolean", lambda v: v.lower() in _BOOLEAN_WORDS),
    (re.compile(r"trait[0-9]*:[A-Za-z0-9_]+"), "one of required, forbidden", lambda v: v in ("required", "forbidden")),
    (re.compile(r"resources[0-9]*:[A-Za-z0-9_]+"), "a non-negative integer", lambda v: v.isdigit()),
)


def check_known_extra_spec(key: str, value: str) -> None:
    """ValueError when `key` is one of the well-known extra specs and `value` is not
    what it takes (Nova validates extra specs from microversion 2.86)."""
    for pattern, expected, accepts in _KNOWN_EXTRA_SPECS:
        if pattern.fullmatch(key):
            if not accepts(value):
                raise ValueError(f"Validation failed; extra spec {key!r} must be {expected}, not {value[:60]!r}.")
            return
