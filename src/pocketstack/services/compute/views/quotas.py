"""Quota documents as Nova shows them (os-quota-sets, os-quota-class-sets, limits), per
microversion: nova-network's quotas leave quota sets and limits at 2.36 and quota
classes at 2.50, personality files leave everything at 2.57, and quota classes show
the server-group quotas only from 2.50 (bug 1693168)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pocketstack.core.microversions import Version

from ..backend.quotas import INJECTED_FILE_RESOURCES, NETWORK_RESOURCES, RESOURCES, Detail

SERVER_GROUP_RESOURCES = ("server_groups", "server_group_members")

# limit name(s) of each resource in GET /limits (nova/api/openstack/compute/views/limits.py)
ABSOLUTE_NAMES = {
    "ram": ("maxTotalRAMSize",),
    "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",),
}
USED_NAMES = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


def _without(hidden: set[str]) -> tuple[str, ...]:
    return tuple(resource for resource in RESOURCES if resource not in hidden)


def quota_set_resources(version: Version) -> tuple[str, ...]:
    hidden: set[str] = set()
    if version >= "2.36":
        hidden.update(NETWORK_RESOURCES)
    if version >= "2.57":
        hidden.update(INJECTED_FILE_RESOURCES)
    return _without(hidden)


def quota_class_resources(version: Version) -> tuple[str, ...]:
    hidden: set[str] = set(SERVER_GROUP_RESOURCES) if version < "2.50" else set(NETWORK_RESOURCES)
    if version >= "2.57":
        hidden.update(INJECTED_FILE_RESOURCES)
    return _without(hidden)


def quota_set(limits: Mapping[str, int], version: Version, project_id: str | None = None) -> dict[str, Any]:
    """{"quota_set": {...}}; the id is the project's, and absent from an update's answer."""
    body: dict[str, Any] = {"id": project_id} if project_id is not None else {}
    body.update({resource: limits[resource] for resource in quota_set_resources(version)})
    return {"quota_set": body}


def quota_set_detail(details: Mapping[str, Detail], version: Version, project_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": project_id}
    for resource in quota_set_resources(version):
        item = details[resource]
        body[resource] = {"in_use": item.in_use, "limit": item.limit, "reserved": item.reserved}
    return {"quota_set": body}


def quota_class_set(limits: Mapping[str, int], version: Version, class_name: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": class_name} if class_name is not None else {}
    body.update({resource: limits[resource] for resource in quota_class_resources(version)})
    return {"quota_class_set": body}


def absolute_limits(limits: Mapping[str, int], used: Mapping[str, int], version: Version) -> dict[str, Any]:
    """GET /limits: {"limits": {"rate": [], "absolute": {...}}} (rate limits are gone from Nova)."""
    hidden: set[str] = set()
    if version >= "2.36":
        hidden.update(("floating_ips", "security_groups", "security_group_rules"))
    if version >= "2.57":
        hidden.update(("injected_files", "injected_file_content_bytes"))
    absolute: dict[str, int] = {}
    for resource, names in ABSOLUTE_NAMES.items():
        if resource in hidden:
            continue
        for name in names:
            if name == "maxImageMeta" and version >= "2.39":  # image metadata is Glance's
                continue
            absolute[name] = limits[resource]
    for name, resource in USED_NAMES.items():
        if resource not in hidden:
            absolute[name] = used[resource]
    return {"limits": {"rate": [], "absolute": absolute}}
