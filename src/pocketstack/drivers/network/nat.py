"""A router's NAT table (iptables, inside its own namespace, as Neutron's L3 agent does):
floating IPs are 1:1 NAT (DNAT of the floating address to the fixed one, SNAT of the
fixed one to the floating one), and the internal subnets leave through the gateway as
the gateway's address when enable_snat is on.

The namespace belongs to the router alone, so the whole nat table is written at once
(iptables-restore replaces just the tables it is given). A comment rule carries a hash
of the rules: a pass that would write the same table writes nothing."""

from __future__ import annotations

import hashlib
import ipaddress
import re

from .base import METADATA_ADDRESS, ROUTER_INTERFACE_PREFIX, RouterSpec

PREFIX = "pocketstack-"
STATE_COMMENT = "pocketstack-state"
CHAINS = ("PREROUTING", "OUTPUT", "POSTROUTING")


def gateway_address(router: RouterSpec) -> str | None:
    """The gateway leg's first IPv4 address: what SNAT rewrites sources to."""
    if router.gateway is None:
        return None
    for address in router.gateway.addresses:
        interface = ipaddress.ip_interface(address)
        if interface.version == 4:
            return str(interface.ip)
    return None


def nat_rules(router: RouterSpec) -> dict[str, list[str]]:
    """Our chain -> its rules (without "-A chain")."""
    rules: dict[str, list[str]] = {f"{PREFIX}{chain}": [] for chain in CHAINS}
    if router.metadata_port:
        # guests on subnets without DHCP reach the metadata proxy through their router
        redirect = (
            f"-i {ROUTER_INTERFACE_PREFIX}+ -d {METADATA_ADDRESS}/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports {router.metadata_port}"
        )
        rules[f"{PREFIX}PREROUTING"].append(redirect)
    if router.gateway is None:
        return rules
    out = router.gateway.ns_device
    for fip in router.floating_ips:
        rules[f"{PREFIX}PREROUTING"].append(f"-d {fip.floating_ip}/32 -j DNAT --to-destination {fip.fixed_ip}")
        rules[f"{PREFIX}OUTPUT"].append(f"-d {fip.floating_ip}/32 -j DNAT --to-destination {fip.fixed_ip}")
        rules[f"{PREFIX}POSTROUTING"].append(f"-s {fip.fixed_ip}/32 -o {out} -j SNAT --to-source {fip.floating_ip}")
    source = gateway_address(router)
    if router.enable_snat and source:
        for cidr in router.snat_sources:
            if ipaddress.ip_network(cidr).version == 4:
                rules[f"{PREFIX}POSTROUTING"].append(f"-s {cidr} -o {out} -j SNAT --to-source {source}")
    return rules


def render_nat(router: RouterSpec) -> str:
    """iptables-restore input for the whole nat table of the router's namespace."""
    rules = nat_rules(router)
    digest = nat_hash(rules)
    lines = ["*nat"]
    lines += [f":{chain} ACCEPT [0:0]" for chain in ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")]
    lines += [f":{name} - [0:0]" for name in rules]
    lines += [f"-A {chain} -j {PREFIX}{chain}" for chain in CHAINS]
    lines.append(f'-A {PREFIX}POSTROUTING -m comment --comment "{STATE_COMMENT} {digest}"')
    for name, chain_rules in rules.items():
        lines += [f"-A {name} {rule}" for rule in chain_rules]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def nat_hash(rules: dict[str, list[str]]) -> str:
    text = "\n".join(f"{name} {rule}" for name, chain_rules in sorted(rules.items()) for rule in chain_rules)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def saved_hash(iptables_save: str) -> str | None:
    match = re.search(rf'--comment "?{STATE_COMMENT} ([0-9a-f]+)"?', iptables_save)
    return match.group(1) if match else None
