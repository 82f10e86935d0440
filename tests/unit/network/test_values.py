"""Neutron's value types and request wording (services/network/common/attributes.py) and
security group rule conversions (backend/security_groups.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pocketstack.services.network.backend import security_groups as rules
from pocketstack.services.network.common import attributes
from pocketstack.services.network.faults import (
    InvalidInput,
    SecurityGroupInvalidIcmpValue,
    SecurityGroupInvalidPortRange,
    SecurityGroupInvalidPortValue,
    SecurityGroupInvalidProtocolForPort,
    SecurityGroupMissingIcmpType,
    SecurityGroupProtocolRequiredWithPorts,
    SecurityGroupRuleInvalidProtocol,
)
from pocketstack.services.network.schemas.subnets import SubnetCreate


@pytest.mark.parametrize(("raw", "value"), [(True, True), ("true", True), ("False", False), ("1", True), (0, False), ("no", False)])
def test_booleans_as_neutron_converts_them(raw: Any, value: bool) -> None:
    assert attributes.to_boolean(raw) is value


@pytest.mark.parametrize("raw", ["maybe", 2, None, [], "tru"])
def test_not_booleans(raw: Any) -> None:
    with pytest.raises(ValueError, match="cannot be converted to boolean"):
        attributes.to_boolean(raw)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("10.0.0.0/24", "10.0.0.0/24"), ("2001:DB8::/64", "2001:db8::/64"), ("2001:db8::1/64", "2001:db8::/64"), ("0.0.0.0/0", "0.0.0.0/0")],
)
def test_cidrs_are_normalized(raw: str, normal: str) -> None:
    assert attributes.to_cidr(raw) == normal


def test_an_ipv4_cidr_with_host_bits_is_refused_with_a_recommendation() -> None:
    with pytest.raises(ValueError, match="'10.0.0.1/24' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended"):
        attributes.to_cidr("10.0.0.1/24")


@pytest.mark.parametrize("raw", ["10.0.0.0", "10.0.0.0/33", "banana/24", " 10.0.0.0/24", "10.0.0.256/24", 24, "010.0.0.0/8"])
def test_not_cidrs(raw: Any) -> None:
    with pytest.raises(ValueError):
        attributes.to_cidr(raw)


@pytest.mark.parametrize("raw", ["10.0.0.256", "1.2.3", "010.0.0.1", "", "fe80::1%eth0", 7])
def test_not_ip_addresses(raw: Any) -> None:
    with pytest.raises(ValueError):
        attributes.to_ip_address(raw)


def test_ip_addresses_are_canonical() -> None:
    assert attributes.to_ip_address("2001:DB8:0::1") == "2001:db8::1"


@pytest.mark.parametrize("raw", ["fa:16:3e:00:00:0g", "01:00:5e:00:00:01", "00:00:00:00:00:00", "fa:16:3e:00:00", "fa-16:3e:00:00:01"])
def test_not_unicast_macs(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid MAC address"):
        attributes.to_mac(raw)


def test_macs_are_lower_case_with_colons() -> None:
    assert attributes.to_mac("FA-16-3E-AB-CD-EF") == "fa:16:3e:ab:cd:ef"


def test_validation_errors_read_like_neutrons() -> None:
    with pytest.raises(Exception) as missing:
        attributes.validate_body(SubnetCreate, {"ip_version": 4}, "subnet")
    assert "Failed to parse request. Required attribute 'network_id' not specified" in str(missing.value)
    with pytest.raises(Exception) as bad:
        attributes.validate_body(SubnetCreate, {"network_id": "9d6b0d0e-3f6f-4f44-9a2b-c4f1cb1e0e49", "ip_version": 5}, "subnet")
    assert "Invalid input for ip_version. Reason: '5' is not in [4, 6]." in str(bad.value)


@pytest.mark.parametrize(("raw", "stored"), [("TCP", "tcp"), ("6", "6"), (17, "17"), ("any", None), (None, None), ("icmpv6", "icmpv6")])
def test_rule_protocols(raw: Any, stored: str | None) -> None:
    assert rules.convert_protocol(raw) == stored


@pytest.mark.parametrize("raw", ["bogus", 256, "-1", True])
def test_unknown_rule_protocols(raw: Any) -> None:
    with pytest.raises(SecurityGroupRuleInvalidProtocol):
        rules.convert_protocol(raw)


@pytest.mark.parametrize(
    ("protocol", "low", "high", "fault"),
    [
        (None, 22, 22, SecurityGroupProtocolRequiredWithPorts),
        ("tcp", 30, 20, SecurityGroupInvalidPortRange),
        ("tcp", 0, 20, SecurityGroupInvalidPortValue),
        ("udp", 10, None, SecurityGroupInvalidPortRange),
        ("icmp", 8, 256, SecurityGroupInvalidIcmpValue),
        ("icmp", None, 0, SecurityGroupMissingIcmpType),
        ("gre", 1, 2, SecurityGroupInvalidProtocolForPort),
    ],
)
def test_bad_port_ranges(protocol: str | None, low: int | None, high: int | None, fault: type[Exception]) -> None:
    with pytest.raises(fault):
        rules.check_port_range(protocol, low, high)


def test_port_ranges() -> None:
    assert rules.check_port_range("tcp", 22, 22) == (22, 22)
    assert rules.check_port_range("6", 80, 443) == (80, 443)  # protocols by number too
    assert rules.check_port_range("tcp", 1, 65535) == (None, None)  # the whole range is stored as no range
    assert rules.check_port_range("icmp", 8, 0) == (8, 0)
    assert rules.check_port_range("icmp", 8, None) == (8, None)


def test_rule_prefixes() -> None:
    assert rules.convert_prefix("10.0.0.5") == "10.0.0.5/32"
    assert rules.convert_prefix("10.0.0.1/24") == "10.0.0.1/24"  # kept as given; normalized_cidr shows the network
    assert rules.normalized_cidr("10.0.0.1/24") == "10.0.0.0/24"
    assert rules.convert_prefix("2001:DB8::/64") == "2001:db8::/64"
    with pytest.raises(InvalidInput):
        rules.convert_prefix("10.0.0.0/40")
