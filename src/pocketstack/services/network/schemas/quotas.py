"""PUT /v2.0/quotas/{project_id}: limits by resource name, each an integer of -1 (no
limit) or more, and `force` (apply a limit below what is already used). `check_limit`
is accepted and means what happens anyway (Neutron checks usage by default since 2025.1)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.faults import BadRequest

from ..common.attributes import to_boolean, to_integer


def parse_limits(body: Any, known: list[str]) -> tuple[dict[str, int], bool]:
    """(limits, force)"""
    if not isinstance(body, dict) or not isinstance(body.get("quota"), dict):
        raise BadRequest("Unable to find 'quota' in request body")
    values = dict(body["quota"])
    try:
        force = to_boolean(values.pop("force", False))
        to_boolean(values.pop("check_limit", False))
    except ValueError as exc:
        raise BadRequest(f"Invalid input for force. Reason: {exc}.") from None
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    limits = {}
    for resource, raw in values.items():
        try:
            limit = to_integer(raw)
        except ValueError as exc:
            raise BadRequest(f"Invalid input for {resource}. Reason: {exc}.") from None
        if limit < -1:
            raise BadRequest(f"Invalid input for {resource}. Reason: '{limit}' is too small - must be at least '-1'.")
        limits[resource] = limit
    return limits, force
