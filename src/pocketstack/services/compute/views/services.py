"""Service records as Nova's os-services shows them: the uuid as id from 2.53 (the
integer before), forced_down from 2.11, state from the heartbeat, status from the
disabled flag."""

from __future__ import annotations

from typing import Any

from pocketstack.core.microversions import Version

from ..backend.services import last_update
from ..models import ComputeServiceRecord
from .keypairs import nova_time


def service_id(record: ComputeServiceRecord, version: Version) -> int | str:
    return record.uuid if version >= "2.53" else record.id


def status_of(record: ComputeServiceRecord) -> str:
    return "disabled" if record.disabled else "enabled"


def service(record: ComputeServiceRecord, zone: str, state: str, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "binary": record.binary,
        "host": record.host,
        "id": service_id(record, version),
        "zone": zone,
        "status": status_of(record),
        "state": state,
        "updated_at": nova_time(last_update(record)),
        "disabled_reason": record.disabled_reason,
    }
    if version >= "2.11":
        body["forced_down"] = record.forced_down
    return body
