"""GET /v2.1/servers/{id}/diagnostics (admins): what the hypervisor says about a guest.

From 2.48 the answer has Nova's common format (state, CPUs, memory, disks, NICs, each
value null when the hypervisor cannot tell); before it, the free-form dictionary of
Nova's libvirt driver ("cpu0_time", "vda_read", "memory", ...). The counters come from
the driver of the server's host when it can measure them (see
ComputeService.diagnostics); the rest from the server's record.

Guests here are QEMU processes, the same guests Nova's libvirt driver runs, so the
answer names "libvirt" as its driver (the only value of Nova's list that describes
them) and the acceleration in use ("kvm" or "qemu") as its hypervisor."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.db import utcnow
from pocketstack.core.faults import Conflict, nova_fault

from ..backend.servers import get_server as find_server
from ..backend.servers import policy_target
from ..models import Server

api = ApiRouter(nova_fault)

# Nova's power_state -> the diagnostics' state names
STATE_NAMES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed", 7: "suspended"}
DISK_NAMES = "abcdefghijklmnopqrstuvwxyz"


@api.route("GET", "/v2.1/servers/{server_id}/diagnostics")
def show_diagnostics(call: Call) -> dict[str, Any]:
    server = find_server(call.db, call.ctx, call.params["server_id"])
    call.authorize("os_compute_api:os-server-diagnostics", policy_target(server))
    if not server.host:
        raise Conflict(f"Instance {server.uuid} is not ready yet: it is on no host.")
    measured = call.cloud.compute.diagnostics(server)
    if call.version >= "2.48":
        return common_format(server, measured)
    return legacy_format(server, measured)


def common_format(server: Server, measured: Any) -> dict[str, Any]:
    state = measured.power_state if measured is not None else server.power_state
    cpu_times = list(measured.cpu_times_ns) if measured is not None else []
    disks = list(measured.disks) if measured is not None else []
    uptime = int((utcnow() - server.launched_at).total_seconds()) if server.launched_at else None
    return {
        "state": STATE_NAMES.get(int(state), "pending"),
        "driver": "libvirt",
        "hypervisor": measured.hypervisor if measured is not None else None,
        "hypervisor_os": "linux",
        "uptime": uptime,
        "config_drive": bool(server.config_drive),
        "num_cpus": server.vcpus,
        "num_nics": 0,
        "num_disks": len(disks) if measured is not None else _disk_count(server),
        "memory_details": {"maximum": server.memory_mb, "used": measured.memory_used_mb if measured is not None else None},
        "cpu_details": [{"id": index, "time": time_ns, "utilisation": None} for index, time_ns in enumerate(cpu_times)],
        "nic_details": [],
        "disk_details": [
            {
                "read_bytes": disk.read_bytes,
                "read_requests": disk.read_requests,
                "write_bytes": disk.write_bytes,
                "write_requests": disk.write_requests,
                "errors_count": disk.errors,
            }
            for disk in disks
        ],
    }


def legacy_format(server: Server, measured: Any) -> dict[str, Any]:
    """Nova's libvirt get_diagnostics: per-vCPU times, per-disk counters, memory in KiB."""
    out: dict[str, Any] = {}
    if measured is not None:
        for index, time_ns in enumerate(measured.cpu_times_ns):
            out[f"cpu{index}_time"] = time_ns
        for index, disk in enumerate(measured.disks):
            name = f"vd{DISK_NAMES[index % len(DISK_NAMES)]}"
            out.update(
                {
                    f"{name}_read_req": disk.read_requests,
                    f"{name}_read": disk.read_bytes,
                    f"{name}_write_req": disk.write_requests,
                    f"{name}_write": disk.write_bytes,
                    f"{name}_errors": disk.errors,
                }
            )
        if measured.memory_used_mb is not None:
            out["memory-actual"] = measured.memory_used_mb * 1024
    out["memory"] = server.memory_mb * 1024
    return out


def _disk_count(server: Server) -> int:
    return 1 + (1 if server.ephemeral_gb else 0) + (1 if server.flavor.get("swap") else 0) + (1 if server.config_drive else 0)
