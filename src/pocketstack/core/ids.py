"""Identifier checks every service makes on what callers send."""

from __future__ import annotations

import uuid


def is_uuid(value: object) -> bool:
    """Whether `value` is a string the uuid module reads as a UUID (any case, with or
    without dashes or braces, as OpenStack's services accept ids)."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
