"""Hypervisors as Nova's os-hypervisors shows them (hypervisors.py _view_hypervisor):

all         id (the node's uuid from 2.53, its integer before), hypervisor_hostname, state, status
detail      + hypervisor_type, hypervisor_version, host_ip, service {id, host, disabled_reason}
< 2.88      + vcpus, memory_mb, local_gb, *_used, free_ram_mb, free_disk_gb, current_workload,
              running_vms, disk_available_least, cpu_info (a JSON string before 2.28, an object from it)
2.88+       + uptime (those numbers are placement's business from then on)
servers     [{name, uuid}] when asked for and there are some; from 2.75 [] when there are none
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pocketstack.core.microversions import Version

from ..backend.hypervisors import Hypervisor, Usage
from ..models import Server


def hypervisor(
    item: Hypervisor,
    state: str,
    version: Version,
    *,
    usage: Usage | None = None,
    uptime: str | None = None,
    servers: Sequence[Server] | None = None,
    with_servers: bool = False,
) -> dict[str, Any]:
    """One hypervisor; `usage` given means the detailed view."""
    node, service = item.node, item.service
    uuid_ids = version >= "2.53"
    body: dict[str, Any] = {
        "id": node.uuid if uuid_ids else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": state,
        "status": "disabled" if service.disabled else "enabled",
    }
    if usage is not None:
        body.update(
            hypervisor_type=node.hypervisor_type,
            hypervisor_version=node.hypervisor_version,
            host_ip=node.host_ip,
            service={"id": service.uuid if uuid_ids else service.id, "host": node.host, "disabled_reason": service.disabled_reason},
        )
        if version >= "2.88":
            body["uptime"] = uptime
        else:
            body.update(vars(usage))
            body["cpu_info"] = dict(node.cpu_info or {}) if version >= "2.28" else json.dumps(node.cpu_info or {})
    if servers:
        body["servers"] = [{"name": server.name, "uuid": server.uuid} for server in servers]
    elif with_servers and version >= "2.75":
        body["servers"] = []
    return body


def statistics(totals: dict[str, int]) -> dict[str, Any]:
    return {"hypervisor_statistics": totals}
