"""Nova's view of a Neutron floating IP (os-floating-ips) and of an external network as a
floating IP pool (os-floating-ip-pools)."""

from __future__ import annotations

from typing import Any


def floating_ip(fip: Any, pool: str) -> dict[str, Any]:
    """`pool` is the external network's name (its id when it has none); `instance_id` is
    the device of the port the address is translated to (the server), null while the
    floating IP is not associated."""
    port = fip.fixed_port
    return {
        "fixed_ip": fip.fixed_ip_address,
        "id": fip.id,
        "instance_id": (port.device_id or None) if port is not None else None,
        "ip": fip.floating_ip_address,
        "pool": pool,
    }


def pool(network: Any) -> dict[str, Any]:
    return {"name": network.name or network.id}
