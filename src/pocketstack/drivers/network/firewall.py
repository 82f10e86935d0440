"""Security groups as iptables rules on bridged ports (Neutron's iptables firewall, in
the spirit of its linuxbridge flavour), rendered as iptables-restore input.

This host's kernel has no conntrack for nftables' bridge family, so stateful filtering of
bridged traffic goes through br_netfilter into the IPv4/IPv6 FORWARD chains, where the
`physdev` match tells which tap a frame came from or goes to:

    FORWARD -> pocketstack-<scope>            our ports only: physdev in/out -> ...-sg
               pocketstack-<scope>-sg         per port: out -> i<port>, in -> o<port>; then ACCEPT
               pocketstack-<scope>i<port>     to the port: established, DHCP replies, rules, else DROP
               pocketstack-<scope>o<port>     from the port: DHCP, anti-spoofing, rules, else DROP
               pocketstack-<scope>s<port>     anti-spoofing: its MAC with its addresses, else DROP

Every chain name starts with "pocketstack-" and the cloud's scope, so the agent finds its
own chains (and deletes those no port wants) and never touches anything else. The whole
set is written at once by one `iptables-restore --noflush`, which is atomic; the first
rule of the top chain carries a hash of the rest, so a pass that would write the same
rules writes nothing.

Remote-group rules match an ipset of the group's member addresses (one per group and
family) when ipset is available, or are expanded into one rule per address.

Conntrack zones. Every bridge lives in the host's namespace, so without more every
network's bridged flows would share one conntrack table: two projects' networks on the
same CIDR would share entries for identical 5-tuples, and a flow allowed in one network
would make the same packet in the other ESTABLISHED (past its ingress rules) or INVALID.
So, as Neutron does, each of our tenant bridges gets a zone of its own, set in the raw
table before conntrack looks the packet up:

    raw PREROUTING -> pocketstack-<scope>-zones    -i <bridge> -j CT --zone <N>, per bridge

br_netfilter hands a bridged frame to PREROUTING with the bridge as its input device
whichever port it came in on (a tap, a DHCP or router leg), so one rule per bridge puts
both directions of every flow on it into its zone; no per-tap rule is needed. Only
bridges we own are zoned: they carry no address, so nothing there is the host's own
traffic (and nothing the host sends enters them: raw OUTPUT needs no rule). A bridge of bridge_mappings may carry the host's address, and the host may route
or NAT for it: the host's own replies leave without a zone, so zoning what comes in would
split those flows (provider networks stay in zone 0, as the host is).

Zone numbers (1..65535; 0 stays the host's) are kept by the rules themselves: a bridge
that has a rule keeps its zone, so an agent restart changes nothing. A new bridge gets a
zone from a hash of its name (a function of the network id), moving on to the next free
one when another bridge, of this scope or any other rule in the table, has it; after a
reboot, rules and conntrack entries are both gone, and the hash gives mostly the same
numbers again. No file holds them: the table is the truth about which zone a flow is in."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .base import METADATA_ADDRESS, FirewallRule, FirewallSpec, PortFilter

CHAIN_PREFIX = "pocketstack-"
MAX_CHAIN_NAME = 28  # iptables' limit
MAX_SET_NAME = 31  # ipset's limit
STATE_COMMENT = "pocketstack-state"
FIRST_ZONE, LAST_ZONE = 1, 65535  # conntrack zones are 16 bits; 0 is the host's default

# IANA numbers of the protocols that need their own match module or name
PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udplite"}
PROTOCOL_NAMES = {**PORT_PROTOCOLS, 1: "icmp", 58: "ipv6-icmp", 47: "gre", 50: "esp", 51: "ah"}
NAME_NUMBERS = {name: number for number, name in PROTOCOL_NAMES.items()} | {"icmpv6": 58}
ICMPV6_NEIGHBOUR_TYPES = (130, 131, 132, 135, 136, 143)  # MLD, neighbour solicitation/advertisement
ICMPV6_ROUTER_SOLICITATION = 133
ICMPV6_ROUTER_ADVERTISEMENT = 134


def top_chain(scope: str) -> str:
    return f"{CHAIN_PREFIX}{scope}"


def group_chain(scope: str) -> str:
    return f"{CHAIN_PREFIX}{scope}-sg"


def zone_chain(scope: str) -> str:
    return f"{CHAIN_PREFIX}{scope}-zones"


@dataclass(frozen=True)
class Hook:
    """Where one set of our chains hangs: a table, the built-in chain we add our one jump
    rule to, and the chain it jumps to (which carries the state hash)."""

    table: str
    builtin: str
    top: str


def filter_hook(scope: str) -> Hook:
    return Hook("filter", "FORWARD", top_chain(scope))


def zone_hook(scope: str) -> Hook:
    return Hook("raw", "PREROUTING", zone_chain(scope))


def port_chain(scope: str, kind: str, port_id: str) -> str:
    """kind: "i" (ingress), "o" (egress) or "s" (anti-spoofing)."""
    name = f"{CHAIN_PREFIX}{scope}{kind}{port_id.replace('-', '')}"
    return name[:MAX_CHAIN_NAME]


def set_name(scope: str, family: int, group_id: str) -> str:
    return f"{CHAIN_PREFIX}{scope}{family}{group_id.replace('-', '')}"[:MAX_SET_NAME]


def jump_rule(scope: str, hook: Hook | None = None) -> str:
    """The one rule we add to a chain we do not own."""
    hook = hook or filter_hook(scope)
    return f'-A {hook.builtin} -m comment --comment "pocketstack {scope}" -j {hook.top}'


def protocol_number(protocol: str | None, family: int) -> int | None:
    """None (any protocol), or the IANA number of a name or number as the API stores it;
    ICMP in an IPv6 rule means ICMPv6, as Neutron reads it."""
    if protocol is None or protocol in ("any", ""):
        return None
    number = int(protocol) if protocol.isdigit() else NAME_NUMBERS.get(protocol)
    if number is None:
        raise ValueError(f"unknown protocol {protocol!r}")
    if family == 6 and number == 1:
        return 58
    return number


def family_of(address: str) -> int:
    return ipaddress.ip_network(address, strict=False).version


def host_cidr(address: str) -> str:
    network = ipaddress.ip_network(address, strict=False)
    return str(network)


def link_local_of(mac: str) -> str:
    """The EUI-64 link-local address a guest makes from its MAC (IPv6 neighbour discovery
    and DHCPv6 come from it, before any address is configured)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    suffix = int.from_bytes(bytes(eui), "big")
    return str(ipaddress.IPv6Address((0xFE80 << 112) | suffix))


# -- rules of one port ------------------------------------------------------------------------
def _rule_lines(rule: FirewallRule, family: int, scope: str, members: Mapping[str, tuple[str, ...]], use_sets: bool) -> list[str]:
    """The iptables matches of one security group rule (without -A chain / -j target);
    none when the rule cannot match in this family."""
    if rule.ethertype != f"IPv{family}":
        return []
    parts: list[str] = []
    number = protocol_number(rule.protocol, family)
    if number is not None:
        parts += ["-p", PROTOCOL_NAMES.get(number, str(number))]
        parts += _protocol_matches(rule, number)
    peer = "-s" if rule.direction == "ingress" else "-d"
    if rule.remote_ip_prefix:
        if family_of(rule.remote_ip_prefix) != family:
            return []
        prefix = host_cidr(rule.remote_ip_prefix)
        if prefix not in ("0.0.0.0/0", "::/0"):
            parts = [peer, prefix, *parts]
        return [" ".join(parts)]
    if rule.remote_group_id:
        if use_sets:
            where = "src" if rule.direction == "ingress" else "dst"
            return [" ".join([*parts, "-m", "set", "--match-set", set_name(scope, family, rule.remote_group_id), where])]
        addresses = [a for a in members.get(rule.remote_group_id, ()) if family_of(a) == family]
        return [" ".join([peer, host_cidr(a), *parts]) for a in addresses]
    return [" ".join(parts)]


def _protocol_matches(rule: FirewallRule, number: int) -> list[str]:
    if number in PORT_PROTOCOLS and (rule.port_min is not None or rule.port_max is not None):
        low = rule.port_min if rule.port_min is not None else rule.port_max
        high = rule.port_max if rule.port_max is not None else rule.port_min
        ports = str(low) if low == high else f"{low}:{high}"
        if number == 136:  # udplite has no match module of its own
            return ["-m", "multiport", "--dports", ports]
        return ["-m", PORT_PROTOCOLS[number], "--dport", ports]
    if number in (1, 58) and rule.port_min is not None:
        kind = str(rule.port_min) if rule.port_max is None else f"{rule.port_min}/{rule.port_max}"
        return ["-m", "icmp", "--icmp-type", kind] if number == 1 else ["-m", "icmp6", "--icmpv6-type", kind]
    return []


def _ingress(port: PortFilter, family: int, scope: str, members: Mapping[str, tuple[str, ...]], use_sets: bool) -> list[str]:
    lines = []
    if port.stateful:
        lines.append("-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
    if family == 4:
        lines.append("-p udp -m udp --sport 67 --dport 68 -j RETURN")  # DHCP offers and acks
    else:
        lines.append("-p udp -m udp --sport 547 --dport 546 -j RETURN")
        lines += [
            f"-p ipv6-icmp -m icmp6 --icmpv6-type {kind} -j RETURN" for kind in (*ICMPV6_NEIGHBOUR_TYPES, ICMPV6_ROUTER_ADVERTISEMENT)
        ]
    if port.stateful:
        lines.append("-m conntrack --ctstate INVALID -j DROP")
    for rule in port.rules:
        if rule.direction == "ingress":
            lines += [f"{match} -j RETURN".lstrip() for match in _rule_lines(rule, family, scope, members, use_sets)]
    lines.append("-j DROP")
    return lines


def _egress(port: PortFilter, family: int, scope: str, members: Mapping[str, tuple[str, ...]], use_sets: bool) -> list[str]:
    spoof = port_chain(scope, "s", port.port_id)
    if family == 4:
        lines = [
            # DHCP discover, before the guest has an address
            "-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -j RETURN",
            f"-j {spoof}",
            "-p udp -m udp --sport 68 --dport 67 -j RETURN",
            "-p udp -m udp --sport 67 --dport 68 -j DROP",  # no DHCP servers in guests
        ]
    else:
        lines = [f"-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type {kind} -j RETURN" for kind in (131, 135, 143)]
        lines.append(f"-j {spoof}")
        lines += [f"-p ipv6-icmp -m icmp6 --icmpv6-type {kind} -j RETURN" for kind in (*ICMPV6_NEIGHBOUR_TYPES, ICMPV6_ROUTER_SOLICITATION)]
        lines.append(f"-p ipv6-icmp -m icmp6 --icmpv6-type {ICMPV6_ROUTER_ADVERTISEMENT} -j DROP")  # guests are no routers
        lines.append("-p udp -m udp --sport 546 --dport 547 -j RETURN")
        lines.append("-p udp -m udp --sport 547 --dport 546 -j DROP")
    if port.stateful:
        lines.append("-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
        lines.append("-m conntrack --ctstate INVALID -j DROP")
    if family == 4:
        lines.append(f"-d {METADATA_ADDRESS}/32 -p tcp -m tcp --dport 80 -j RETURN")
    for rule in port.rules:
        if rule.direction == "egress":
            lines += [f"{match} -j RETURN".lstrip() for match in _rule_lines(rule, family, scope, members, use_sets)]
    lines.append("-j DROP")
    return lines


def _anti_spoofing(port: PortFilter, family: int) -> list[str]:
    allowed = [(host_cidr(ip), port.mac) for ip in port.ips if family_of(ip) == family]
    allowed += [(host_cidr(ip), mac) for ip, mac in port.allowed_pairs if family_of(ip) == family]
    if family == 6:
        macs = dict.fromkeys([port.mac, *(mac for _, mac in port.allowed_pairs)])
        allowed += [(f"{link_local_of(mac)}/128", mac) for mac in macs]
    lines = [f"-s {cidr} -m mac --mac-source {mac} -j RETURN" for cidr, mac in dict.fromkeys(allowed)]
    lines.append("-j DROP")
    return lines


# -- the whole table ---------------------------------------------------------------------------
def render_chains(spec: FirewallSpec, family: int, scope: str, use_sets: bool) -> dict[str, list[str]]:
    """chain name -> its rules (without "-A chain"), in order: everything of ours for one
    family. Empty when there is nothing to filter or accept."""
    if not spec.filters and not spec.open_devices:
        return {}
    top, sg = top_chain(scope), group_chain(scope)
    chains: dict[str, list[str]] = {top: [], sg: []}
    for port in spec.filters:
        for direction in ("out", "in"):
            chains[top].append(f"-m physdev --physdev-{direction} {port.device} --physdev-is-bridged -j {sg}")
        chains[sg].append(f"-m physdev --physdev-out {port.device} --physdev-is-bridged -j {port_chain(scope, 'i', port.port_id)}")
        chains[sg].append(f"-m physdev --physdev-in {port.device} --physdev-is-bridged -j {port_chain(scope, 'o', port.port_id)}")
        chains[port_chain(scope, "i", port.port_id)] = _ingress(port, family, scope, spec.group_members, use_sets)
        chains[port_chain(scope, "o", port.port_id)] = _egress(port, family, scope, spec.group_members, use_sets)
        chains[port_chain(scope, "s", port.port_id)] = _anti_spoofing(port, family)
    chains[sg].append("-j ACCEPT")
    for device in spec.open_devices:
        for direction in ("out", "in"):
            chains[top].append(f"-m physdev --physdev-{direction} {device} --physdev-is-bridged -j ACCEPT")
    digest = state_hash(chains)
    chains[top].insert(0, f'-m comment --comment "{STATE_COMMENT} {digest}"')
    return chains


def state_hash(chains: Mapping[str, list[str]]) -> str:
    text = "\n".join(f"{name} {line}" for name, lines in sorted(chains.items()) for line in lines)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- conntrack zones -------------------------------------------------------------------------
def render_zone_chains(zones: Mapping[str, int], scope: str) -> dict[str, list[str]]:
    """Our raw-table chain (bridge -> zone given), as render_chains gives the filter table's;
    empty when no bridge wants a zone."""
    if not zones:
        return {}
    chain = zone_chain(scope)
    rules = [f"-i {bridge} -j CT --zone {zone}" for bridge, zone in sorted(zones.items())]
    digest = state_hash({chain: rules})
    return {chain: [f'-m comment --comment "{STATE_COMMENT} {digest}"', *rules]}


_ZONE_RULE = re.compile(r"^-A (\S+) (?:.* )?-j CT (?:.* )?--zone(?:-orig|-reply)? (\d+)\b")
_INPUT_DEVICE = re.compile(r" -i (\S+)")


def saved_zones(text: str, scope: str) -> tuple[dict[str, int], set[int]]:
    """From `iptables-save -t raw`: the zone each bridge has in our chain, and the zones
    any other rule (another cloud's, the operator's) sets, which are not ours to take."""
    ours: dict[str, int] = {}
    others: set[int] = set()
    chain = zone_chain(scope)
    for line in text.splitlines():
        match = _ZONE_RULE.match(line)
        if match is None:
            continue
        zone = int(match.group(2))
        device = _INPUT_DEVICE.search(line)
        if match.group(1) == chain and device is not None:
            ours.setdefault(device.group(1), zone)
        else:
            others.add(zone)
    return ours, others


def preferred_zone(bridge: str) -> int:
    """Where a bridge's zone is looked for first: the same number on every host and after
    every reboot, unless another bridge has it."""
    digest = int.from_bytes(hashlib.sha256(bridge.encode()).digest()[:4], "big")
    return FIRST_ZONE + digest % (LAST_ZONE - FIRST_ZONE + 1)


def assign_zones(bridges: Iterable[str], kept: Mapping[str, int], taken: Iterable[int]) -> dict[str, int]:
    """bridge -> zone for every bridge: one that has a zone already (`kept`, read back from
    the rules) keeps it, since its flows live there; the others, in name order so the
    outcome depends on nothing else, get the first free zone from their preferred one on.
    `taken`: zones other rules set. Two of ours never share a zone, and the zone of a
    bridge that goes is not given away in the same pass (its flows are forgotten after
    the rules are written: a newcomer would meet them for a moment)."""
    wanted = sorted(set(bridges))
    used = set(taken) | set(kept.values())
    zones: dict[str, int] = {}
    for bridge in wanted:
        zone = kept.get(bridge)
        if zone is not None and FIRST_ZONE <= zone <= LAST_ZONE and zone not in zones.values():
            zones[bridge] = zone
    for bridge in wanted:
        if bridge not in zones:
            zones[bridge] = _free_zone(preferred_zone(bridge), used)
            used.add(zones[bridge])
    return zones


def _free_zone(start: int, used: set[int]) -> int:
    span = LAST_ZONE - FIRST_ZONE + 1
    for step in range(span):
        zone = FIRST_ZONE + (start - FIRST_ZONE + step) % span
        if zone not in used:
            return zone
    raise ValueError("every conntrack zone is in use")


def desired_sets(spec: FirewallSpec, scope: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    """set name -> (family, member addresses) for every remote group a rule names."""
    wanted = {(rule.remote_group_id, int(rule.ethertype[-1])) for port in spec.filters for rule in port.rules if rule.remote_group_id}
    out = {}
    for group_id, family in sorted(wanted):
        members = spec.group_members.get(group_id, ())
        chosen = tuple(sorted({host_cidr(a) for a in members if family_of(a) == family}))
        out[set_name(scope, family, group_id)] = (family, chosen)
    return out


# -- what is there, and how to get from there to here ------------------------------------
@dataclass(frozen=True)
class SavedTable:
    """Our part of `iptables-save -t <table>`: our chains, whether the built-in chain
    (FORWARD, or PREROUTING in raw) jumps to us, and the state hash our top chain carries."""

    chains: frozenset[str]
    jump: bool
    digest: str | None


def parse_save(text: str, scope: str, hook: Hook | None = None) -> SavedTable:
    hook = hook or filter_hook(scope)
    prefix = top_chain(scope)
    chains, jump, digest = set(), False, None
    wanted_jump = jump_rule(scope, hook)
    state = re.compile(rf'^-A {re.escape(hook.top)} -m comment --comment "?{STATE_COMMENT} ([0-9a-f]+)"?')
    for line in text.splitlines():
        if line.startswith(":"):
            name = line[1:].split(" ", 1)[0]
            if name.startswith(prefix):
                chains.add(name)
        elif line == wanted_jump:
            jump = True
        else:
            match = state.match(line)
            if match:
                digest = match.group(1)
    return SavedTable(frozenset(chains), jump, digest)


def restore_input(chains: Mapping[str, list[str]], saved: SavedTable, scope: str, hook: Hook | None = None) -> str | None:
    """The iptables-restore --noflush input that takes the table from `saved` to `chains`,
    or None when it is already there. Every chain of ours is declared (which empties it)
    before anything else, so stale references vanish; chains no one wants are deleted."""
    hook = hook or filter_hook(scope)
    wanted_digest = _digest_of(chains, hook)
    if chains and saved.jump and saved.digest == wanted_digest and set(chains) == set(saved.chains):
        return None
    if not chains and not saved.chains and not saved.jump:
        return None
    lines = [f"*{hook.table}"]
    lines += [f":{name} - [0:0]" for name in sorted(set(chains) | set(saved.chains))]
    jump = jump_rule(scope, hook)[2:]  # " <builtin> <matches> -j <top>"
    if saved.jump and not chains:
        lines.append("-D" + jump)
    elif chains and not saved.jump:
        lines.append("-I" + jump.replace(hook.builtin, f"{hook.builtin} 1", 1))
    for name, rules in chains.items():
        lines += [f"-A {name} {rule}" for rule in rules]
    lines += [f"-X {name}" for name in sorted(set(saved.chains) - set(chains))]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _digest_of(chains: Mapping[str, list[str]], hook: Hook) -> str | None:
    rules = chains.get(hook.top)
    if not rules:
        return None
    match = re.search(rf"{STATE_COMMENT} ([0-9a-f]+)", rules[0])
    return match.group(1) if match else None


def ipset_restore_input(wanted: Mapping[str, tuple[int, tuple[str, ...]]], existing: Mapping[str, set[str]]) -> str | None:
    """`ipset restore` input that creates missing sets and swaps in new contents of
    changed ones (a temporary set filled, then swapped: rules never see a half-filled set)."""
    lines = []
    for name, (family, members) in wanted.items():
        if name in existing and existing[name] == set(members):
            continue
        inet = "inet" if family == 4 else "inet6"
        if name not in existing:
            lines.append(f"create {name} hash:net family {inet}")
            lines += [f"add {name} {member}" for member in members]
            continue
        scratch = _scratch_name(name)
        lines.append(f"create {scratch} hash:net family {inet} -exist")
        lines.append(f"flush {scratch}")
        lines += [f"add {scratch} {member}" for member in members]
        lines.append(f"swap {scratch} {name}")
        lines.append(f"destroy {scratch}")
    return "\n".join(lines) + "\n" if lines else None


def _scratch_name(name: str) -> str:
    return name[: MAX_SET_NAME - 2] + "-t"


def parse_ipset_save(text: str, prefix: str) -> dict[str, set[str]]:
    """set name -> members, for the sets whose name starts with `prefix`."""
    sets: dict[str, set[str]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[1].startswith(prefix):
            if words[0] == "create":
                sets.setdefault(words[1], set())
            elif words[0] == "add" and len(words) >= 3:
                member = words[2]
                sets.setdefault(words[1], set()).add(host_cidr(member))
    return sets
