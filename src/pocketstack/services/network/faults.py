"""Neutron's named faults. The class name is the "type" of the NeutronError body
(core.faults.neutron_fault), and clients match on it, so each keeps Neutron's name."""

from __future__ import annotations

from pocketstack.core import faults as http
from pocketstack.core.faults import Conflict, Fault, Forbidden, NotFound


# -- 400 -------------------------------------------------------------------------------
class BadRequest(http.BadRequest):
    """Neutron's generic n_exc.BadRequest of a resource: "Bad router request: ...". Its
    type in the error body is "BadRequest" (a request the API layer itself refuses is
    webob's "HTTPBadRequest", core.faults.BadRequest)."""

    def __init__(self, resource: str, message: str) -> None:
        super().__init__(f"Bad {resource} request: {message.rstrip('.')}.")


class InvalidInput(http.BadRequest):
    """A value the operation cannot use; Neutron words it "Invalid input for operation: ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input for operation: {reason.rstrip('.')}.")


class InvalidIpForNetwork(http.BadRequest):
    def __init__(self, ip_address: str) -> None:
        super().__init__(f"IP address {ip_address} is not a valid IP for any of the subnets on the specified network.")


class InvalidIpForSubnet(http.BadRequest):
    def __init__(self, ip_address: str) -> None:
        super().__init__(f"IP address {ip_address} is not a valid IP for the specified subnet.")


class InvalidAllocationPool(http.BadRequest):
    def __init__(self, pool: str) -> None:
        super().__init__(f"The allocation pool {pool} is not valid.")


class OutOfBoundsAllocationPool(http.BadRequest):
    def __init__(self, pool: str, cidr: str) -> None:
        super().__init__(f"The allocation pool {pool} spans beyond the subnet cidr {cidr}.")


class SecurityGroupRuleParameterConflict(http.BadRequest):
    pass


class SecurityGroupRuleInvalidProtocol(http.BadRequest):
    pass


class SecurityGroupProtocolRequiredWithPorts(http.BadRequest):
    pass


class SecurityGroupInvalidPortRange(http.BadRequest):
    pass


class SecurityGroupInvalidPortValue(http.BadRequest):
    pass


class SecurityGroupInvalidIcmpValue(http.BadRequest):
    pass


class SecurityGroupMissingIcmpType(http.BadRequest):
    pass


class SecurityGroupInvalidProtocolForPort(http.BadRequest):
    pass


class SecurityGroupEthertypeConflictWithProtocol(http.BadRequest):
    pass


class SecurityGroupMultipleRemoteEntites(http.BadRequest):  # sic: Neutron's spelling
    pass


class AllowedAddressPairsMissingIP(http.BadRequest):
    pass


class DuplicateAddressPairInRequest(http.BadRequest):
    pass


class AllowedAddressPairExhausted(http.BadRequest):
    pass


class PortSecurityAndIPRequiredForSecurityGroups(http.BadRequest):
    pass


class AllocationOnAutoAddressSubnet(http.BadRequest):
    pass


class IllegalSubnetPoolPrefixBounds(http.BadRequest):
    def __init__(self, prefix_type: str, prefixlen: int, base_prefix_type: str, base_prefixlen: int) -> None:
        super().__init__(f"Illegal prefix bounds: {prefix_type}={prefixlen}, {base_prefix_type}={base_prefixlen}.")


class IllegalSubnetPoolPrefixUpdate(http.BadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(f"Illegal update to prefixes: {message}.")


class PrefixVersionMismatch(http.BadRequest):
    def __init__(self) -> None:
        super().__init__("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")


class EmptySubnetPoolPrefixList(http.BadRequest):
    def __init__(self) -> None:
        super().__init__("Empty subnet pool prefix list.")


class SubnetAllocationError(http.BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Failed to allocate subnet: {reason}.")


class MaxPrefixSubnetAllocationError(http.BadRequest):
    def __init__(self, prefixlen: int, max_prefixlen: int) -> None:
        super().__init__(f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed prefix is {max_prefixlen}.")


class MinPrefixSubnetAllocationError(http.BadRequest):
    def __init__(self, prefixlen: int, min_prefixlen: int) -> None:
        super().__init__(f"Unable to allocate subnet with prefix length {prefixlen}, minimum allowed prefix is {min_prefixlen}.")


class NetworkSubnetPoolAffinityError(http.BadRequest):
    def __init__(self) -> None:
        super().__init__("Subnets hosted on the same network must be allocated from the same subnet pool.")


class InvalidRoutes(http.BadRequest):
    def __init__(self, routes: list[dict[str, str]], reason: str) -> None:
        super().__init__(f"Invalid format for routes: {routes}, {reason}")


class RoutesExhausted(http.BadRequest):
    def __init__(self, router_id: str, limit: int) -> None:
        super().__init__(f"Unable to complete operation for {router_id}. The number of routes exceeds the maximum {limit}.")


class SubnetMismatchForPort(http.BadRequest):
    def __init__(self, port_id: str, subnet_id: str) -> None:
        super().__init__(f"Subnet on port {port_id} does not match the requested subnet {subnet_id}.")


class ExternalIpAddressExhausted(http.BadRequest):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"Unable to find any IP address on external network {network_id}.")


# -- 403 -------------------------------------------------------------------------------
class PolicyNotAuthorized(Forbidden):
    def __init__(self, rule: str) -> None:
        super().__init__(f"rule:{rule} is disallowed by policy")


class NotAuthorized(Forbidden):
    """Neutron's plain refusal, before any policy rule: a project asking for another
    project's auto-allocated topology."""

    def __init__(self) -> None:
        super().__init__("Not authorized.")


# -- 404 -------------------------------------------------------------------------------
class NetworkNotFound(NotFound):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"Network {network_id} could not be found.")


class SubnetNotFound(NotFound):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"Subnet {subnet_id} could not be found.")


class PortNotFound(NotFound):
    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} could not be found.")


class SecurityGroupNotFound(NotFound):
    def __init__(self, group_id: str) -> None:
        super().__init__(f"Security group {group_id} does not exist")


class SecurityGroupRuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule {rule_id} does not exist")


class TagNotFound(NotFound):
    def __init__(self, tag: str) -> None:
        super().__init__(f"Tag {tag} could not be found.")


class ExtensionNotFound(NotFound):
    pass


class RbacPolicyNotFound(NotFound):
    def __init__(self, policy_id: str) -> None:
        super().__init__(f"RBAC policy of type network with ID {policy_id} not found")


class RouterNotFound(NotFound):
    def __init__(self, router_id: str) -> None:
        super().__init__(f"Router {router_id} could not be found")


class RouterInterfaceNotFound(NotFound):
    def __init__(self, router_id: str, port_id: str) -> None:
        super().__init__(f"Router {router_id} does not have an interface with id {port_id}")


class RouterInterfaceNotFoundForSubnet(NotFound):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router {router_id} has no interface on subnet {subnet_id}")


class FloatingIPNotFound(NotFound):
    def __init__(self, floatingip_id: str) -> None:
        super().__init__(f"Floating IP {floatingip_id} could not be found")


class ExternalGatewayForFloatingIPNotFound(NotFound):
    def __init__(self, external_network_id: str, subnet_id: str, port_id: str) -> None:
        super().__init__(
            f"External network {external_network_id} is not reachable from subnet {subnet_id}.  "
            f"Therefore, cannot associate Port {port_id} with a Floating IP."
        )


class SubnetPoolNotFound(NotFound):
    def __init__(self, subnetpool_id: str) -> None:
        super().__init__(f"Subnet pool {subnetpool_id} could not be found.")


class AgentNotFound(NotFound):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} could not be found.")


class AvailabilityZoneNotFound(NotFound):
    def __init__(self, zone: str) -> None:
        super().__init__(f"AvailabilityZone {zone} could not be found.")


# -- 409 -------------------------------------------------------------------------------
class NetworkInUse(Conflict):
    def __init__(self, network_id: str, reason: str = "There are one or more ports still in use on the network") -> None:
        super().__init__(f"Unable to complete operation on network {network_id}. {reason}.")


class SubnetInUse(Conflict):
    def __init__(self, subnet_id: str, reason: str = "One or more ports have an IP allocation from this subnet") -> None:
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: {reason}.")


class IpAddressAlreadyAllocated(Conflict):
    def __init__(self, ip_address: str, subnet_id: str) -> None:
        super().__init__(f"IP address {ip_address} already allocated in subnet {subnet_id}")


class IpAddressGenerationFailure(Conflict):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {network_id}.")


class MacAddressInUse(Conflict):
    def __init__(self, network_id: str, mac: str) -> None:
        super().__init__(f"Unable to complete operation for network {network_id}. The mac address {mac} is in use.")


class OverlappingAllocationPools(Conflict):
    def __init__(self, pool_1: str, pool_2: str, cidr: str) -> None:
        super().__init__(f"Found overlapping allocation pools: {pool_1} {pool_2} for subnet {cidr}.")


class GatewayConflictWithAllocationPools(Conflict):
    def __init__(self, ip_address: str, pool: str) -> None:
        super().__init__(f"Gateway ip {ip_address} conflicts with allocation pool {pool}.")


class InvalidSharedSetting(Conflict):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"Unable to reconfigure sharing settings for network {network_id}. Multiple projects are using it.")


class VlanIdInUse(Conflict):
    def __init__(self, vlan_id: int, physical_network: str) -> None:
        super().__init__(f"Unable to create the network. The VLAN {vlan_id} on physical network {physical_network} is in use.")


class TunnelIdInUse(Conflict):
    def __init__(self, tunnel_id: int) -> None:
        super().__init__(f"Unable to create the network. The tunnel ID {tunnel_id} is in use.")


class FlatNetworkInUse(Conflict):
    def __init__(self, physical_network: str) -> None:
        super().__init__(f"Unable to create the flat network. Physical network {physical_network} is in use.")


class OverQuota(Conflict):
    def __init__(self, resources: list[str]) -> None:
        super().__init__(f"Quota exceeded for resources: {resources}.")


class SecurityGroupInUse(Conflict):
    def __init__(self, group_id: str) -> None:
        super().__init__(f"Security Group {group_id} in use.")


class SecurityGroupCannotRemoveDefault(Conflict):
    def __init__(self) -> None:
        super().__init__("Insufficient rights for removing default security group.")


class SecurityGroupCannotUpdateDefault(Conflict):
    def __init__(self) -> None:
        super().__init__("Updating default security group not allowed.")


class SecurityGroupDefaultAlreadyExists(Conflict):
    def __init__(self) -> None:
        super().__init__("Default security group already exists.")


class SecurityGroupRuleExists(Conflict):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class DuplicateSecurityGroupRuleInPost(Conflict):
    def __init__(self) -> None:
        super().__init__("Duplicate Security Group Rule in POST.")


class AddressPairAndPortSecurityRequired(Conflict):
    def __init__(self) -> None:
        super().__init__("Port Security must be enabled in order to have allowed address pairs on a port.")


class RbacPolicyInUse(Conflict):
    def __init__(self, object_id: str, details: str) -> None:
        super().__init__(f"RBAC policy on object {object_id} cannot be removed because other objects depend on it.\nDetails: {details}")


class DuplicateRbacPolicy(Conflict):
    def __init__(self) -> None:
        super().__init__("An RBAC policy already exists with those values.")


class PortSecurityPortHasSecurityGroup(Conflict):
    def __init__(self) -> None:
        super().__init__("Port has security group associated. Cannot disable port security or IP address until security group is removed.")


class PortBound(Conflict):
    def __init__(self, port_id: str, vif_type: str, old_mac: str, new_mac: str) -> None:
        super().__init__(
            f"Unable to complete operation on port {port_id}, port is already bound, port type: {vif_type}, old_mac {old_mac}, new_mac {new_mac}."
        )


class SubnetPoolInUse(Conflict):
    def __init__(self, subnetpool_id: str, reason: str) -> None:
        super().__init__(f"Unable to complete operation on subnet pool {subnetpool_id}. {reason}.")


class SubnetPoolQuotaExceeded(Conflict):
    def __init__(self) -> None:
        super().__init__("Per-tenant subnet pool prefix quota exceeded.")


class RouterInUse(Conflict):
    def __init__(self, router_id: str, reason: str = "still has ports") -> None:
        super().__init__(f"Router {router_id} {reason}")


class RouterInterfaceInUseByFloatingIP(Conflict):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(
            f"Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, "
            "as it is required by one or more floating IPs."
        )


class RouterInterfaceInUseByRoute(Conflict):
    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(
            f"Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, as it is required by one or more routes."
        )


class RouterExternalGatewayInUseByFloatingIp(Conflict):
    def __init__(self, router_id: str, network_id: str) -> None:
        super().__init__(
            f"Gateway cannot be updated for router {router_id}, since a gateway to external network {network_id} "
            "is required by one or more floating IPs."
        )


class PortInUse(Conflict):
    def __init__(self, network_id: str, port_id: str, device_id: str) -> None:
        super().__init__(
            f"Unable to complete operation on port {port_id} for network {network_id}. Port already has an attached device {device_id}."
        )


class ServicePortInUse(Conflict):
    def __init__(self, port_id: str, reason: str) -> None:
        super().__init__(f"Port {port_id} cannot be deleted directly via the port API: {reason}.")


class FloatingIPPortAlreadyAssociated(Conflict):
    def __init__(self, floating_ip_address: str, fip_id: str, port_id: str, fixed_ip: str, network_id: str) -> None:
        super().__init__(
            f"Cannot associate floating IP {floating_ip_address} ({fip_id}) with port {port_id} using fixed IP {fixed_ip}, "
            f"as that fixed IP already has a floating IP on external network {network_id}."
        )


class ExternalNetworkInUse(Conflict):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"External network {network_id} cannot be updated to be made non-external, since it has existing gateway ports.")


class DefaultExternalNetworkExists(Conflict):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"A default external network already exists: {network_id}.")


class AutoAllocationFailure(Conflict):
    """The cloud cannot make a project's auto-allocated topology (its defaults are missing,
    or what they offer does not suffice)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Deployment error: {reason}.")


# -- 412 -------------------------------------------------------------------------------
class RevisionNumberConstraintFailed(Fault):
    status = 412

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")
