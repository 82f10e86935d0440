"""GET /v2.1/servers/{id}/topology (2.78+): the server's NUMA topology.

Nova lists the guest's NUMA cells (vCPUs, siblings, memory; the host node and CPU pinning
only for admins, rule compute:server:topology:host:index) and the page size. This cloud
gives guests no NUMA topology (no hw:numa_* placement), and for such a server Nova
answers with no nodes and a null page size."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import nova_fault

from .servers import get_server

api = ApiRouter(nova_fault)


@api.route("GET", "/v2.1/servers/{server_id}/topology", min_version="2.78")
def show_topology(call: Call) -> dict[str, Any]:
    get_server(call, "compute:server:topology:index")
    return {"nodes": [], "pagesize_kb": None}
