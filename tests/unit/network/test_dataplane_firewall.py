"""Security groups as iptables rules (drivers/network/firewall.py): what each port's
chains say, names iptables and ipset accept, and the restore input that moves a table
from what is there to what is wanted (and nothing when they agree)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import uuid

import pytest

from pocketstack.drivers.network import firewall as fw
from pocketstack.drivers.network.base import FirewallRule, FirewallSpec, PortFilter

SCOPE = "a1b2c3"
PORT_ID = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
GROUP = "11111111-2222-3333-4444-555555555555"
MAC = "fa:16:3e:12:34:56"


def port(*rules: FirewallRule, **fields: object) -> PortFilter:
    values: dict[str, object] = {
        "port_id": PORT_ID,
        "device": "tap0f1e2d3c-4b",
        "mac": MAC,
        "ips": ("10.0.0.5", "2001:db8::5"),
        "rules": rules,
    }
    values.update(fields)
    return PortFilter(**values)  # type: ignore[arg-type]


def chains(spec: FirewallSpec, family: int = 4, use_sets: bool = True) -> dict[str, list[str]]:
    return fw.render_chains(spec, family, SCOPE, use_sets)


def ingress(spec: FirewallSpec, family: int = 4, use_sets: bool = True) -> list[str]:
    return chains(spec, family, use_sets)[fw.port_chain(SCOPE, "i", PORT_ID)]


def egress(spec: FirewallSpec, family: int = 4) -> list[str]:
    return chains(spec, family)[fw.port_chain(SCOPE, "o", PORT_ID)]


def test_names_fit_iptables_and_ipset_and_carry_the_scope() -> None:
    for kind in "ios":
        name = fw.port_chain(SCOPE, kind, PORT_ID)
        assert name.startswith(f"pocketstack-{SCOPE}{kind}") and len(name) <= 28
    assert len(fw.set_name(SCOPE, 6, GROUP)) <= 31 and fw.set_name(SCOPE, 6, GROUP).startswith(f"pocketstack-{SCOPE}6")
    assert fw.port_chain(SCOPE, "i", PORT_ID) != fw.port_chain(SCOPE, "o", PORT_ID)


def test_ingress_is_default_deny_and_stateful() -> None:
    lines = ingress(FirewallSpec(filters=(port(),)))
    assert lines[0] == "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
    assert "-p udp -m udp --sport 67 --dport 68 -j RETURN" in lines  # DHCP offers reach the guest
    assert "-m conntrack --ctstate INVALID -j DROP" in lines
    assert lines[-1] == "-j DROP"


def test_rules_become_matches() -> None:
    rules = (
        FirewallRule("ingress", "IPv4", "6", 22, 22),
        FirewallRule("ingress", "IPv4", "17", 1000, 2000, remote_ip_prefix="192.0.2.0/24"),
        FirewallRule("ingress", "IPv4", "1", 8, 0),
        FirewallRule("ingress", "IPv4", "1"),
        FirewallRule("ingress", "IPv4", "47"),
        FirewallRule("ingress", "IPv4", "136", 5, 9),
        FirewallRule("ingress", "IPv4", None, remote_ip_prefix="0.0.0.0/0"),
        FirewallRule("egress", "IPv4", "6", 443, 443, remote_ip_prefix="198.51.100.7"),
    )
    lines = ingress(FirewallSpec(filters=(port(*rules),)))
    assert "-p tcp -m tcp --dport 22 -j RETURN" in lines
    assert "-s 192.0.2.0/24 -p udp -m udp --dport 1000:2000 -j RETURN" in lines
    assert "-p icmp -m icmp --icmp-type 8/0 -j RETURN" in lines
    assert "-p icmp -j RETURN" in lines
    assert "-p gre -j RETURN" in lines
    assert "-p udplite -m multiport --dports 5:9 -j RETURN" in lines
    assert "-j RETURN" in lines  # any protocol from anywhere
    assert lines.index("-j RETURN") < len(lines) - 1
    out = egress(FirewallSpec(filters=(port(*rules),)))
    assert "-d 198.51.100.7/32 -p tcp -m tcp --dport 443 -j RETURN" in out
    assert not any("1000:2000" in line for line in out)


def test_rules_of_the_other_family_are_left_out_and_icmp_means_icmpv6() -> None:
    rules = (
        FirewallRule("ingress", "IPv6", "1", 128),
        FirewallRule("ingress", "IPv4", "6", 80, 80),
        FirewallRule("ingress", "IPv6", None, remote_ip_prefix="10.0.0.0/8"),
    )
    spec = FirewallSpec(filters=(port(*rules),))
    v6 = ingress(spec, family=6)
    assert "-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j RETURN" in v6
    assert not any("--dport 80" in line for line in v6)
    assert not any("10.0.0.0/8" in line for line in v6)
    assert "-p udp -m udp --sport 547 --dport 546 -j RETURN" in v6  # DHCPv6 replies
    assert not any("icmp6" in line for line in ingress(spec, family=4))


def test_remote_groups_match_a_set_or_are_expanded() -> None:
    rule = FirewallRule("ingress", "IPv4", "6", 9090, 9090, remote_group_id=GROUP)
    spec = FirewallSpec(filters=(port(rule),), group_members={GROUP: ("10.0.0.7", "10.0.0.8", "2001:db8::8")})
    with_sets = ingress(spec)
    assert f"-p tcp -m tcp --dport 9090 -m set --match-set {fw.set_name(SCOPE, 4, GROUP)} src -j RETURN" in with_sets
    expanded = ingress(spec, use_sets=False)
    assert "-s 10.0.0.7/32 -p tcp -m tcp --dport 9090 -j RETURN" in expanded
    assert "-s 10.0.0.8/32 -p tcp -m tcp --dport 9090 -j RETURN" in expanded
    assert not any("2001:db8::8" in line for line in expanded)
    assert fw.desired_sets(spec, SCOPE) == {fw.set_name(SCOPE, 4, GROUP): (4, ("10.0.0.7/32", "10.0.0.8/32"))}
    empty = FirewallSpec(filters=(port(rule),), group_members={GROUP: ()})
    assert not any("9090" in line for line in ingress(empty, use_sets=False))  # no members: matches nothing


def test_egress_lets_dhcp_out_checks_the_source_and_blocks_rogue_servers() -> None:
    lines = egress(FirewallSpec(filters=(port(FirewallRule("egress", "IPv4")),)))
    spoof = fw.port_chain(SCOPE, "s", PORT_ID)
    discover = "-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -j RETURN"
    assert lines.index(discover) < lines.index(f"-j {spoof}")
    assert lines.index(f"-j {spoof}") < lines.index("-p udp -m udp --sport 67 --dport 68 -j DROP")
    assert "-d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j RETURN" in lines
    assert lines[-2:] == ["-j RETURN", "-j DROP"]


def test_anti_spoofing_allows_own_addresses_and_address_pairs() -> None:
    spec = FirewallSpec(filters=(port(allowed_pairs=(("10.0.9.0/24", "fa:16:3e:00:00:99"), ("10.0.0.6", MAC))),))
    v4 = chains(spec)[fw.port_chain(SCOPE, "s", PORT_ID)]
    assert v4 == [
        f"-s 10.0.0.5/32 -m mac --mac-source {MAC} -j RETURN",
        "-s 10.0.9.0/24 -m mac --mac-source fa:16:3e:00:00:99 -j RETURN",
        f"-s 10.0.0.6/32 -m mac --mac-source {MAC} -j RETURN",
        "-j DROP",
    ]
    v6 = chains(spec, family=6)[fw.port_chain(SCOPE, "s", PORT_ID)]
    assert f"-s 2001:db8::5/128 -m mac --mac-source {MAC} -j RETURN" in v6
    assert f"-s fe80::f816:3eff:fe12:3456/128 -m mac --mac-source {MAC} -j RETURN" in v6


def test_stateless_ports_have_no_conntrack_rules() -> None:
    lines = ingress(FirewallSpec(filters=(port(stateful=False),)))
    assert not any("conntrack" in line for line in lines)


def test_open_devices_are_accepted_and_the_top_chain_carries_a_hash() -> None:
    spec = FirewallSpec(filters=(port(),), open_devices=("tapdhcp",))
    top = chains(spec)[fw.top_chain(SCOPE)]
    assert top[0].startswith('-m comment --comment "pocketstack-state ')
    assert "-m physdev --physdev-out tapdhcp --physdev-is-bridged -j ACCEPT" in top
    assert f"-m physdev --physdev-in tap0f1e2d3c-4b --physdev-is-bridged -j {fw.group_chain(SCOPE)}" in top
    assert chains(FirewallSpec()) == {}
    other = FirewallSpec(filters=(port(FirewallRule("ingress", "IPv4", "6", 1, 1)),), open_devices=("tapdhcp",))
    assert chains(other)[fw.top_chain(SCOPE)][0] != top[0]


def saved_text(wanted: dict[str, list[str]], jump: bool = True) -> str:
    """What iptables-save would print after restoring `wanted`."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":other-chain - [0:0]"]
    lines += [f":{name} - [0:0]" for name in wanted]
    if jump:
        lines.append(fw.jump_rule(SCOPE))
    lines += [f"-A {name} {rule}" for name, rules in wanted.items() for rule in rules]
    return "\n".join(lines + ["COMMIT"])


def test_restore_input_does_nothing_when_the_table_matches() -> None:
    wanted = chains(FirewallSpec(filters=(port(),)))
    saved = fw.parse_save(saved_text(wanted), SCOPE)
    assert saved.jump and saved.chains == frozenset(wanted)
    assert fw.restore_input(wanted, saved, SCOPE) is None


def test_restore_input_adds_the_jump_and_drops_chains_no_port_wants() -> None:
    old_port = str(uuid.uuid4())
    before = chains(FirewallSpec(filters=(port(port_id=old_port),)))
    wanted = chains(FirewallSpec(filters=(port(),)))
    text = fw.restore_input(wanted, fw.parse_save(saved_text(before, jump=False), SCOPE), SCOPE)
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert f'-I FORWARD 1 -m comment --comment "pocketstack {SCOPE}" -j {fw.top_chain(SCOPE)}' in lines
    for name in before.keys() - wanted.keys():
        assert f":{name} - [0:0]" in lines  # emptied before it is deleted
        assert f"-X {name}" in lines
    assert "other-chain" not in text
    assert not any(line.startswith("-A FORWARD") for line in lines)


def test_restore_input_removes_everything_when_nothing_is_wanted() -> None:
    before = chains(FirewallSpec(filters=(port(),)))
    text = fw.restore_input({}, fw.parse_save(saved_text(before), SCOPE), SCOPE)
    assert text is not None
    assert f'-D FORWARD -m comment --comment "pocketstack {SCOPE}" -j {fw.top_chain(SCOPE)}' in text
    assert all(f"-X {name}" in text for name in before)
    assert fw.restore_input({}, fw.parse_save(saved_text({}, jump=False), SCOPE), SCOPE) is None


def test_another_scope_is_never_touched() -> None:
    theirs = fw.render_chains(FirewallSpec(filters=(port(),)), 4, "ffffff", True)
    saved = fw.parse_save(saved_text(theirs, jump=False), SCOPE)
    assert saved.chains == frozenset() and not saved.jump
    assert fw.restore_input({}, saved, SCOPE) is None


def test_ipset_input_creates_and_swaps() -> None:
    name = fw.set_name(SCOPE, 4, GROUP)
    assert fw.ipset_restore_input({name: (4, ("10.0.0.7/32",))}, {name: {"10.0.0.7/32"}}) is None
    created = fw.ipset_restore_input({name: (4, ("10.0.0.7/32",))}, {})
    assert created == f"create {name} hash:net family inet\nadd {name} 10.0.0.7/32\n"
    swapped = fw.ipset_restore_input({name: (4, ("10.0.0.8/32",))}, {name: {"10.0.0.7/32"}})
    assert swapped is not None and f"swap {name[:29]}-t {name}" in swapped and f"add {name[:29]}-t 10.0.0.8/32" in swapped
    saved = f"create {name} hash:net family inet hashsize 1024 maxelem 65536\nadd {name} 10.0.0.8\ncreate other x\n"
    assert fw.parse_ipset_save(saved, f"pocketstack-{SCOPE}") == {name: {"10.0.0.8/32"}}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("iptables-restore") is None, reason="needs root and iptables")
def test_iptables_accepts_the_rules() -> None:
    """iptables-restore --test parses the rules (in a throw-away namespace: nothing applied)."""
    rules = (
        FirewallRule("ingress", "IPv4", "6", 22, 22),
        FirewallRule("ingress", "IPv6", "58", 128, 0),
        FirewallRule("egress", "IPv4", "132", 5, 6),
    )
    spec = FirewallSpec(filters=(port(*rules, allowed_pairs=(("10.1.0.0/16", MAC),)),), open_devices=("tapother",))
    namespace = f"psxunit-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        for family, tool in ((4, "iptables-restore"), (6, "ip6tables-restore")):
            text = fw.restore_input(fw.render_chains(spec, family, SCOPE, False), fw.SavedTable(frozenset(), False, None), SCOPE)
            result = subprocess.run(
                ["ip", "netns", "exec", namespace, tool, "--test", "--noflush"], input=text, capture_output=True, text=True
            )
            assert result.returncode == 0, result.stderr
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)


# -- conntrack zones (the raw table) -------------------------------------------------------------
BRIDGE_A, BRIDGE_B = "brq0a0a0a0a-0a", "brq0b0b0b0b-0b"


def raw_saved(chains: dict[str, list[str]], jump: bool = True, extra: tuple[str, ...] = ()) -> str:
    """What iptables-save -t raw would print after restoring `chains` (plus others' rules)."""
    lines = ["*raw", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{name} - [0:0]" for name in chains]
    if jump:
        lines.append(fw.jump_rule(SCOPE, fw.zone_hook(SCOPE)))
    lines += list(extra)
    lines += [f"-A {name} {rule}" for name, rules in chains.items() for rule in rules]
    return "\n".join(lines + ["COMMIT"])


def test_each_bridge_gets_its_zone_in_one_chain_of_ours() -> None:
    chains = fw.render_zone_chains({BRIDGE_B: 7, BRIDGE_A: 9}, SCOPE)
    (name,) = chains
    assert name == f"pocketstack-{SCOPE}-zones" and len(name) <= 28
    rules = chains[name]
    assert rules[0].startswith('-m comment --comment "pocketstack-state ')
    assert rules[1:] == [f"-i {BRIDGE_A} -j CT --zone 9", f"-i {BRIDGE_B} -j CT --zone 7"]
    assert fw.render_zone_chains({}, SCOPE) == {}
    assert fw.render_zone_chains({BRIDGE_A: 9, BRIDGE_B: 8}, SCOPE)[name][0] != rules[0]  # another zone, another hash


def test_zone_rules_hang_from_raw_prerouting_and_go_with_the_last_bridge() -> None:
    hook = fw.zone_hook(SCOPE)
    chains = fw.render_zone_chains({BRIDGE_A: 9}, SCOPE)
    text = fw.restore_input(chains, fw.parse_save(raw_saved({}, jump=False), SCOPE, hook), SCOPE, hook)
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == "*raw" and lines[-1] == "COMMIT"
    assert f'-I PREROUTING 1 -m comment --comment "pocketstack {SCOPE}" -j pocketstack-{SCOPE}-zones' in lines
    assert f"-A pocketstack-{SCOPE}-zones -i {BRIDGE_A} -j CT --zone 9" in lines
    # the same rules again: nothing to write
    saved = fw.parse_save(raw_saved(chains), SCOPE, hook)
    assert saved.jump and saved.chains == frozenset(chains)
    assert fw.restore_input(chains, saved, SCOPE, hook) is None
    # the last bridge goes: the jump and the chain go
    text = fw.restore_input({}, saved, SCOPE, hook)
    assert text is not None
    assert f'-D PREROUTING -m comment --comment "pocketstack {SCOPE}" -j pocketstack-{SCOPE}-zones' in text
    assert f"-X pocketstack-{SCOPE}-zones" in text
    assert "FORWARD" not in text and "*filter" not in text


def test_the_filter_table_does_not_mistake_the_zone_chain_for_its_own() -> None:
    zones = fw.render_zone_chains({BRIDGE_A: 9}, SCOPE)
    saved = fw.parse_save(raw_saved(zones), SCOPE)  # the filter hook's view of a raw dump
    assert not saved.jump and saved.digest is None


def test_saved_zones_are_read_back_and_others_zones_kept_apart() -> None:
    ours = fw.render_zone_chains({BRIDGE_A: 9, BRIDGE_B: 12}, SCOPE)
    theirs = fw.render_zone_chains({"brq0c0c0c0c-0c": 13}, "ffffff")
    extra = ("-A PREROUTING -i eth9 -j CT --zone 40", "-A PREROUTING -i eth8 -j CT --zone-orig 41", "-A PREROUTING -j CT --notrack")
    text = raw_saved({**ours, **theirs}, extra=extra)
    kept, taken = fw.saved_zones(text, SCOPE)
    assert kept == {BRIDGE_A: 9, BRIDGE_B: 12}
    assert taken == {13, 40, 41}


def test_zones_are_kept_preferred_or_the_next_free_one() -> None:
    a, b = fw.preferred_zone(BRIDGE_A), fw.preferred_zone(BRIDGE_B)
    assert fw.FIRST_ZONE <= a <= fw.LAST_ZONE and a != 0
    assert fw.preferred_zone(BRIDGE_A) == a  # the same on every host and after every reboot
    assert fw.assign_zones([BRIDGE_A, BRIDGE_B], {}, set()) == {BRIDGE_A: a, BRIDGE_B: b}
    # a bridge with a rule keeps its zone, whatever its hash says
    assert fw.assign_zones([BRIDGE_A], {BRIDGE_A: 77, "brqgone": 5}, set()) == {BRIDGE_A: 77}
    # a zone someone else sets is passed over
    assert fw.assign_zones([BRIDGE_A], {}, {a}) == {BRIDGE_A: a % fw.LAST_ZONE + 1}
    # the top of the range wraps to 1, never to 0
    assert fw._free_zone(fw.LAST_ZONE, {fw.LAST_ZONE}) == 1


def test_colliding_bridges_are_resolved_the_same_way_whatever_the_order() -> None:
    bridges = [f"brq{i:011d}" for i in range(3000)]
    zones = fw.assign_zones(bridges, {}, set())
    assert len(set(zones.values())) == len(bridges)  # 3000 bridges: some hashes collide
    assert any(zone != fw.preferred_zone(bridge) for bridge, zone in zones.items())
    assert fw.assign_zones(list(reversed(bridges)), {}, set()) == zones
    # a new bridge never moves the zones of those that had one
    more = fw.assign_zones([*bridges, "brqnew"], zones, set())
    assert {bridge: more[bridge] for bridge in bridges} == zones
    # the zone of a bridge that goes is not handed on in the same pass (its flows still linger)
    leaving = fw.preferred_zone(BRIDGE_B)
    assert fw.assign_zones([BRIDGE_B], {BRIDGE_A: leaving}, set())[BRIDGE_B] != leaving
    # two of ours read back with one zone (never written so): the second gets another
    twice = fw.assign_zones([BRIDGE_A, BRIDGE_B], {BRIDGE_A: 5, BRIDGE_B: 5}, set())
    assert twice[BRIDGE_A] == 5 and twice[BRIDGE_B] != 5


def test_no_free_zone_is_an_error() -> None:
    with pytest.raises(ValueError, match="every conntrack zone"):
        fw._free_zone(1, set(range(1, 65536)))


def test_forgetting_flows_looks_in_one_zone_only() -> None:
    from types import SimpleNamespace

    from pocketstack.drivers.network.linux import _entry_matches

    def entry(src: str, dst: str, zone: int | None) -> SimpleNamespace:
        return SimpleNamespace(tuple_orig=SimpleNamespace(saddr=src, daddr=dst), zone=zone)

    mine = {ipaddress.ip_address("10.0.0.5")}
    assert _entry_matches(entry("10.0.0.5", "10.0.0.6", 9), mine, 9)
    assert _entry_matches(entry("10.0.0.6", "10.0.0.5", 9), mine, 9)
    assert not _entry_matches(entry("10.0.0.5", "10.0.0.6", 12), mine, 9)  # the same address in another network
    assert not _entry_matches(entry("10.0.0.7", "10.0.0.6", 9), mine, 9)
    assert _entry_matches(entry("10.0.0.5", "10.0.0.6", None), mine, 0)  # zone 0 is left out of dumps
    assert _entry_matches(entry("10.0.0.7", "10.0.0.6", 9), None, 9)  # a whole zone
    assert _entry_matches(entry("10.0.0.5", "10.0.0.6", 12), mine, None)  # any zone (a router's namespace)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("iptables-restore") is None, reason="needs root and iptables")
def test_iptables_accepts_the_zone_rules() -> None:
    """iptables-restore --test parses the raw table's rules, IPv4 and IPv6 (in a throw-away
    namespace: nothing applied)."""
    hook = fw.zone_hook(SCOPE)
    text = fw.restore_input(
        fw.render_zone_chains({BRIDGE_A: 9, BRIDGE_B: 65535}, SCOPE), fw.SavedTable(frozenset(), False, None), SCOPE, hook
    )
    namespace = f"psxunit-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        for tool in ("iptables-restore", "ip6tables-restore"):
            result = subprocess.run(
                ["ip", "netns", "exec", namespace, tool, "--test", "--noflush"], input=text, capture_output=True, text=True
            )
            assert result.returncode == 0, result.stderr
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
