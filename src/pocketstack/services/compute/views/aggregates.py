"""Aggregates as Nova shows them (its object's fields, timestamps without a zone), with
the uuid from 2.41; create answers without hosts and metadata (v2's body)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.microversions import Version

from ..backend.aggregates import hosts_of, metadata_of, zone_of
from ..models import Aggregate
from .keypairs import nova_time


def aggregate(record: Aggregate, version: Version, *, created: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "availability_zone": zone_of(record),
        "created_at": nova_time(record.created_at),
        "deleted": False,
        "deleted_at": None,
        "id": record.id,
        "name": record.name,
        "updated_at": nova_time(record.updated_at),
    }
    if not created:
        body["hosts"] = hosts_of(record)
        body["metadata"] = metadata_of(record)
    if version >= "2.41":
        body["uuid"] = record.uuid
    return body
