"""Servers as Nova shows them (nova/api/openstack/compute/views/servers.py), for the
request's microversion and for who is looking: admins see the OS-EXT-SRV-ATTR fields,
hosts and fault details; the embedded flavor replaces the flavor link from 2.47."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pocketstack.core.api import Call

from .. import networking, states
from ..backend.servers import REQUESTED_ZONE_KEY, disk_config
from ..models import Server

# statuses whose progress Nova reports (others show none at all)
PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
EXTENDED_ATTRIBUTES_RULE = "os_compute_api:os-extended-server-attributes"
HOST_STATUS_RULE = "os_compute_api:servers:show:host_status"
FLAVOR_EXTRA_SPECS_RULE = "os_compute_api:servers:show:flavor-extra-specs"
# what update and rebuild answers leave out before 2.75 (Nova shows the extensions'
# fields only on GET then)
EXTENSION_PREFIXES = ("OS-EXT-", "OS-SRV-USG:", "os-extended-volumes:")
EXTENSION_FIELDS = {"config_drive", "key_name", "security_groups", "host_status"}


def timestamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_timestamp(value: dt.datetime | None) -> str | None:
    """OS-SRV-USG times: Nova prints them without a zone, with microseconds."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(call: Call, server_uuid: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": call.url(f"/v2.1/servers/{server_uuid}")},
        {"rel": "bookmark", "href": call.url(f"/servers/{server_uuid}")},
    ]


def summary(call: Call, server: Server) -> dict[str, Any]:
    return {"id": server.uuid, "name": server.name, "links": links(call, server.uuid)}


def plain_addresses(addresses: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Addresses with only version and addr (/ips, and update/rebuild answers before 2.75)."""
    return {net: [{"version": a["version"], "addr": a["addr"]} for a in entries] for net, entries in addresses.items()}


def host_id(server: Server) -> str:
    """Nova's hostId: the same for a project's servers on one host, meaningless otherwise."""
    if not server.host:
        return ""
    return hashlib.sha224((server.project_id + server.host).encode()).hexdigest()


class ServerLook:
    """What a caller may see, decided once per request (policy checks are not free)."""

    def __init__(self, call: Call, host_states: dict[str, str] | None = None) -> None:
        self.call = call
        target = {"project_id": call.ctx.project_id}
        self.extended = call.allowed(EXTENDED_ATTRIBUTES_RULE, target)
        self.host_status = call.version >= "2.16" and call.allowed(HOST_STATUS_RULE, target)
        self.flavor_extra_specs = call.allowed(FLAVOR_EXTRA_SPECS_RULE, target)
        self.is_admin = call.ctx.is_admin
        self.host_states = host_states or {}
        self._addresses: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def prefetch(self, servers: list[Server]) -> None:
        """Read the addresses of a whole page at once (one query, not one per server)."""
        self._addresses.update(networking.addresses(self.call.db, [s.uuid for s in servers]))

    def addresses(self, server: Server) -> dict[str, list[dict[str, Any]]]:
        if server.uuid not in self._addresses:
            self.prefetch([server])
        return self._addresses[server.uuid]

    def show(self, server: Server, server_groups: list[str]) -> dict[str, Any]:
        """GET /servers/{id}: the detail, and from 2.71 the groups the server is in
        (Nova shows them on show, update and rebuild, never in the detailed list)."""
        out = self.detail(server)
        if self.call.version >= "2.71":
            out["server_groups"] = server_groups
        return out

    def updated(self, server: Server, server_groups: list[str]) -> dict[str, Any]:
        """The answer to update: the whole server from 2.75, without the extensions'
        fields before."""
        out = self.show(server, server_groups)
        if self.call.version >= "2.75":
            return out
        short = {k: v for k, v in out.items() if not k.startswith(EXTENSION_PREFIXES) and k not in EXTENSION_FIELDS}
        # the addresses without their OS-EXT-IPS fields too (Nova: extend_address=False)
        short["addresses"] = plain_addresses(out["addresses"])
        return short

    def rebuilt(self, server: Server, server_groups: list[str], admin_pass: str) -> dict[str, Any]:
        """The answer to rebuild: as update's, with the key name from 2.54, the user data
        (its own field, not OS-EXT-SRV-ATTR:user_data) from 2.57, and the admin password
        (given or generated: Nova's enable_instance_password is on)."""
        version = self.call.version
        out = self.updated(server, server_groups)
        out.pop("OS-EXT-SRV-ATTR:user_data", None)
        if version >= "2.54":
            out["key_name"] = server.key_name
        if version >= "2.57":
            out["user_data"] = server.user_data
        out["adminPass"] = admin_pass
        return out

    def detail(self, server: Server) -> dict[str, Any]:
        call, version = self.call, self.call.version
        status = states.status_of(server.vm_state, server.task_state)
        out: dict[str, Any] = {
            "id": server.uuid,
            "name": server.name,
            "status": status,
            "tenant_id": server.project_id,
            "user_id": server.user_id,
            "metadata": server.metadata_dict,
            "hostId": host_id(server),
            "image": self._image(server),
            "flavor": self._flavor(server),
            "created": timestamp(server.created_at),
            "updated": timestamp(server.updated_at or server.created_at),
            "addresses": self.addresses(server),
            "accessIPv4": server.access_ip_v4 or "",
            "accessIPv6": server.access_ip_v6 or "",
            "links": links(call, server.uuid),
            "OS-DCF:diskConfig": disk_config(server),
            "OS-EXT-AZ:availability_zone": server.availability_zone or "",
            "config_drive": "True" if server.config_drive else "",
            "key_name": server.key_name,
            "OS-SRV-USG:launched_at": usage_timestamp(server.launched_at),
            "OS-SRV-USG:terminated_at": usage_timestamp(server.terminated_at),
            "OS-EXT-STS:task_state": server.task_state,
            "OS-EXT-STS:vm_state": server.vm_state,
            "OS-EXT-STS:power_state": server.power_state,
            "os-extended-volumes:volumes_attached": [],
        }
        out.update(security_groups(server))
        if status in PROGRESS_STATUSES:
            out["progress"] = server.progress
        if server.fault and server.vm_state in (states.ERROR, states.DELETED):
            out["fault"] = self._fault(server.fault)
        if self.extended:
            out.update(self._extended(server))
        elif version >= "2.90":
            out["OS-EXT-SRV-ATTR:hostname"] = server.hostname
        if version >= "2.9":
            out["locked"] = server.locked
        if version >= "2.73":
            out["locked_reason"] = server.locked_reason
        if version >= "2.19":
            out["description"] = server.description
        if version >= "2.26":
            out["tags"] = server.tags
        if self.host_status:
            out["host_status"] = self.host_states.get(server.host or "", "") if server.host else ""
        if version >= "2.63":
            out["trusted_image_certificates"] = None
        if version >= "2.96":
            out["pinned_availability_zone"] = pinned_availability_zone(server)
        return out

    def _image(self, server: Server) -> Any:
        if not server.image_ref:
            return ""  # volume-backed
        bookmark = self.call.url(f"/images/{server.image_ref}")
        return {"id": server.image_ref, "links": [{"rel": "bookmark", "href": bookmark}]}

    def _flavor(self, server: Server) -> dict[str, Any]:
        flavor = server.flavor
        if not self.call.version >= "2.47":
            return {"id": flavor["id"], "links": [{"rel": "bookmark", "href": self.call.url(f"/flavors/{flavor['id']}")}]}
        out = {
            "vcpus": flavor["vcpus"],
            "ram": flavor["ram"],
            "disk": flavor["disk"],
            "ephemeral": flavor.get("ephemeral", 0),
            "swap": flavor.get("swap", 0),
            "original_name": flavor["name"],
        }
        if self.flavor_extra_specs:
            out["extra_specs"] = flavor.get("extra_specs") or {}
        return out

    def _fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        out = {"code": fault["code"], "created": fault["created"], "message": fault["message"]}
        # Nova hides the details of internal errors (500s) from non-admins
        if self.is_admin or fault["code"] != 500:
            out["details"] = fault.get("details", "")
        return out

    def _extended(self, server: Server) -> dict[str, Any]:
        out: dict[str, Any] = {
            "OS-EXT-SRV-ATTR:host": server.host,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": server.node,
            "OS-EXT-SRV-ATTR:instance_name": f"instance-{server.id:08x}",
        }
        if self.call.version >= "2.3":
            out.update(
                {
                    "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                    "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
                    "OS-EXT-SRV-ATTR:hostname": server.hostname,
                    "OS-EXT-SRV-ATTR:kernel_id": server.system_metadata.get("image_kernel_id", ""),
                    "OS-EXT-SRV-ATTR:ramdisk_id": server.system_metadata.get("image_ramdisk_id", ""),
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:user_data": server.user_data,
                }
            )
        return out


def pinned_availability_zone(server: Server) -> str | None:
    """The zone the server was asked to stay in (Nova's request spec zone): the one named
    at create or unshelve, None when the scheduler was free to choose."""
    return server.system_metadata.get(REQUESTED_ZONE_KEY) or None


def security_groups(server: Server) -> dict[str, Any]:
    """Nova leaves the key out for a server without groups (no ports, or all removed)."""
    return {"security_groups": [{"name": name} for name in server.security_groups]} if server.security_groups else {}


def created(call: Call, server: Server, admin_pass: str | None) -> dict[str, Any]:
    """The 202 answer to a create: little more than where to look."""
    out: dict[str, Any] = {
        "id": server.uuid,
        "links": links(call, server.uuid),
        "OS-DCF:diskConfig": disk_config(server),
        **security_groups(server),
    }
    if admin_pass is not None:
        out["adminPass"] = admin_pass
    return out


def instance_action(action: Any, *, with_events: bool, show_details: bool, version: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "action": action.action,
        "instance_uuid": action.server_uuid,
        "request_id": action.request_id,
        "user_id": action.user_id,
        "project_id": action.project_id,
        "start_time": usage_timestamp(action.start_time),
        "message": action.message,
    }
    if version >= "2.58":
        out["updated_at"] = usage_timestamp(action.updated_at or action.start_time)
    if with_events:
        out["events"] = [_event(event, show_details=show_details, version=version) for event in action.events]
    return out


def _event(event: Any, *, show_details: bool, version: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": event.event,
        "start_time": usage_timestamp(event.start_time),
        "finish_time": usage_timestamp(event.finish_time),
        "result": event.result,
    }
    if show_details:
        out["traceback"] = event.traceback
        if version >= "2.62":
            out["host"] = event.host or ""
            out["hostId"] = hashlib.sha224((event.host or "").encode()).hexdigest() if event.host else ""
    elif version >= "2.62":
        out["hostId"] = hashlib.sha224((event.host or "").encode()).hexdigest() if event.host else ""
    if version >= "2.84" and show_details:
        out["details"] = event.details
    return out
