"""Request bodies of os-quota-sets and os-quota-class-sets (Nova's quota_sets.py and
quota_classes.py schemas): an object of known resources, each an integer from -1
(unlimited) to 2**31-1, as a JSON number or a string of digits; quota sets also take
"force". Which resources are known depends on the microversion, as in the answers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pocketstack.core.faults import BadRequest

from ..backend.quotas import MAX_LIMIT, UNLIMITED

INTEGER_TEXT = re.compile(r"-?[0-9]+")
# oslo's bool_from_string words, as Nova's parameter_types.boolean lists them
TRUE_WORDS = {"true", "1", "on", "yes"}
FALSE_WORDS = {"false", "0", "off", "no"}


def _invalid(field: str, reason: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. {reason}")


def limit_value(field: str, value: Any) -> int:
    """One limit: an integer or a string of digits, -1 up to Nova's MAX_INT."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _invalid(field, f"Value: {value!r}. {value!r} is not of type 'integer', 'string'")
    if isinstance(value, str):
        if not INTEGER_TEXT.fullmatch(value):
            raise _invalid(field, f"Value: {value!r}. {value!r} does not match '^-?[0-9]+$'")
        value = int(value)
    if value < UNLIMITED:
        raise _invalid(field, f"Value: {value}. {value} is less than the minimum of {UNLIMITED}")
    if value > MAX_LIMIT:
        raise _invalid(field, f"Value: {value}. {value} is greater than the maximum of {MAX_LIMIT}")
    return value


def boolean_value(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE_WORDS | FALSE_WORDS and value in (value.lower(), value.upper(), value.title()):
        return value.lower() in TRUE_WORDS
    raise _invalid(field, f"Value: {value!r}. {value!r} is not one of the boolean values")


def limits_body(body: Any, key: str, known: Iterable[str], *, with_force: bool) -> tuple[dict[str, int], bool]:
    """Parse {key: {resource: limit, ..., "force": bool}}: (the limits, whether forced)."""
    if not isinstance(body, dict) or key not in body:
        raise _invalid(key, f"'{key}' is a required property")
    extra = sorted(set(body) - {key})
    if extra:
        raise _invalid(key, f"Additional properties are not allowed ({', '.join(repr(e) for e in extra)} was unexpected)")
    document = body[key]
    if not isinstance(document, dict):
        raise _invalid(key, f"Value: {document!r}. {document!r} is not of type 'object'")
    allowed = set(known) | ({"force"} if with_force else set())
    unexpected = sorted(set(document) - allowed)
    if unexpected:
        raise _invalid(key, f"Additional properties are not allowed ({', '.join(repr(u) for u in unexpected)} was unexpected)")
    force = boolean_value(f"{key}/force", document["force"]) if "force" in document else False
    limits = {name: limit_value(f"{key}/{name}", value) for name, value in document.items() if name != "force"}
    return limits, force
