"""The dataplane that builds nothing: it records what it was asked (tests read `calls`)
and remembers what "exists", so the agent's orphan handling behaves as on a real host.
The default without root, for API-only clouds."""

from __future__ import annotations

import threading
from typing import Any

from .base import DhcpSpec, FirewallSpec, NetworkSpec, PortSpec, RouterSpec


class NoopDataplane:
    name = "noop"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.networks: dict[str, NetworkSpec] = {}
        self.ports: dict[str, PortSpec] = {}
        self.dhcp: dict[str, DhcpSpec] = {}
        self.routers: dict[str, RouterSpec] = {}
        self.firewall = FirewallSpec()
        self._lock = threading.Lock()

    def _record(self, name: str, argument: Any) -> None:
        with self._lock:
            self.calls.append((name, argument))

    def prepare(self) -> None:
        self._record("prepare", None)

    def list_networks(self) -> set[str]:
        return set(self.networks)

    def ensure_network(self, network: NetworkSpec) -> None:
        self._record("ensure_network", network)
        self.networks[network.id] = network

    def remove_network(self, network_id: str) -> None:
        self._record("remove_network", network_id)
        self.networks.pop(network_id, None)

    def list_ports(self) -> set[str]:
        return set(self.ports)

    def ensure_port(self, port: PortSpec) -> None:
        self._record("ensure_port", port)
        self.ports[port.id] = port

    def remove_port(self, port_id: str) -> None:
        self._record("remove_port", port_id)
        self.ports.pop(port_id, None)

    def list_dhcp(self) -> set[str]:
        return set(self.dhcp)

    def ensure_dhcp(self, dhcp: DhcpSpec) -> None:
        self._record("ensure_dhcp", dhcp)
        self.dhcp[dhcp.network_id] = dhcp

    def remove_dhcp(self, network_id: str) -> None:
        self._record("remove_dhcp", network_id)
        self.dhcp.pop(network_id, None)

    def list_routers(self) -> set[str]:
        return set(self.routers)

    def ensure_router(self, router: RouterSpec) -> None:
        self._record("ensure_router", router)
        self.routers[router.id] = router

    def remove_router(self, router_id: str) -> None:
        self._record("remove_router", router_id)
        self.routers.pop(router_id, None)

    def apply_firewall(self, firewall: FirewallSpec) -> None:
        self._record("apply_firewall", firewall)
        self.firewall = firewall
