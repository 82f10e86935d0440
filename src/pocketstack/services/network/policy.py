"""Who may do what in the networking API: Neutron's secure-RBAC defaults (names and
meaning of neutron/conf/policies/*.py), in one place.

Targets carry the resource's `project_id`, and where it applies `network:project_id`
(the owner of the network a subnet or port is on), `shared` and `external` (of that
network), `security_group:project_id` (of a rule's group) and `network_device` (a port
whose device_owner starts with "network:"). Neutron writes some checks as
"field:networks:shared=True"; here those read the target: 'True':%(shared)s.

Deliberately kept from an earlier Neutron default: a project reader may read their own
project's quotas (current Neutron asks for the manager role).
"""

ADMIN = "rule:admin_only"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_PROJECT_MEMBER = f"({ADMIN}) or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"({ADMIN}) or ({PROJECT_READER})"
NET_OWNER_MEMBER = "role:member and rule:network_owner"
NET_OWNER_READER = "role:reader and rule:network_owner"
ADMIN_OR_SERVICE = f"({ADMIN}) or (rule:service_api)"
ADMIN_SERVICE_OR_NET_OWNER_MEMBER = f"{ADMIN_OR_SERVICE} or ({NET_OWNER_MEMBER})"

BASE: dict[str, str] = {
    "context_is_admin": "role:admin",
    "admin_only": "rule:context_is_admin",
    "service_api": "role:service",
    "context_is_advsvc": "role:advsvc",
    "regular_user": "",
    "owner": "project_id:%(project_id)s",
    "admin_or_owner": "rule:context_is_admin or rule:owner",
    "network_owner": "project_id:%(network:project_id)s",
    "admin_or_network_owner": "rule:context_is_admin or project_id:%(network:project_id)s",
    "shared": "'True':%(shared)s",
    "external": "'True':%(external)s",
    "sg_owner": "project_id:%(security_group:project_id)s",
    "admin_or_sg_owner": "rule:context_is_admin or project_id:%(security_group:project_id)s",
    "network_device": "'True':%(network_device)s",
}

NETWORKS: dict[str, str] = {
    "create_network": ADMIN_OR_PROJECT_MEMBER,
    "create_network:shared": ADMIN,
    "create_network:router:external": ADMIN,
    "create_network:is_default": ADMIN,
    "create_network:port_security_enabled": ADMIN_OR_PROJECT_MEMBER,
    "create_network:segments": ADMIN,
    "create_network:provider:network_type": ADMIN,
    "create_network:provider:physical_network": ADMIN,
    "create_network:provider:segmentation_id": ADMIN,
    "create_network:tags": ADMIN_OR_PROJECT_MEMBER,
    "get_network": f"{ADMIN_OR_PROJECT_READER} or rule:service_api or rule:shared or rule:external or rule:context_is_advsvc",
    "get_network:segments": ADMIN,
    "get_network:provider:network_type": ADMIN,
    "get_network:provider:physical_network": ADMIN,
    "get_network:provider:segmentation_id": ADMIN,
    "get_network:tags": f"{ADMIN_OR_PROJECT_READER} or rule:shared or rule:external or rule:context_is_advsvc",
    "update_network": ADMIN_OR_PROJECT_MEMBER,
    "update_network:segments": ADMIN,
    "update_network:shared": ADMIN,
    "update_network:provider:network_type": ADMIN,
    "update_network:provider:physical_network": ADMIN,
    "update_network:provider:segmentation_id": ADMIN,
    "update_network:router:external": ADMIN,
    "update_network:is_default": ADMIN,
    "update_network:port_security_enabled": ADMIN_OR_PROJECT_MEMBER,
    "update_network:tags": ADMIN_OR_PROJECT_MEMBER,
    "delete_network": ADMIN_OR_PROJECT_MEMBER,
    "delete_network:tags": ADMIN_OR_PROJECT_MEMBER,
}

SUBNETS: dict[str, str] = {
    "create_subnet": f"({ADMIN}) or ({NET_OWNER_MEMBER})",
    "create_subnet:segment_id": ADMIN,
    "create_subnet:service_types": ADMIN,
    "create_subnet:tags": f"{PROJECT_MEMBER} or ({ADMIN}) or ({NET_OWNER_MEMBER})",
    "get_subnet": f"{PROJECT_READER} or rule:shared or ({ADMIN}) or ({NET_OWNER_READER}) or rule:service_api",
    "get_subnet:segment_id": ADMIN,
    "get_subnet:tags": f"{PROJECT_READER} or rule:shared or ({ADMIN}) or ({NET_OWNER_READER})",
    "update_subnet": f"{PROJECT_MEMBER} or ({ADMIN}) or ({NET_OWNER_MEMBER})",
    "update_subnet:segment_id": ADMIN,
    "update_subnet:service_types": ADMIN,
    "update_subnet:tags": f"{PROJECT_MEMBER} or ({ADMIN}) or ({NET_OWNER_MEMBER})",
    "delete_subnet": f"{PROJECT_MEMBER} or ({ADMIN}) or ({NET_OWNER_MEMBER})",
    "delete_subnet:tags": f"{PROJECT_MEMBER} or ({ADMIN}) or ({NET_OWNER_MEMBER})",
}

PORTS: dict[str, str] = {
    "create_port": f"{ADMIN_OR_SERVICE} or {NET_OWNER_MEMBER} or rule:shared",
    "create_port:device_id": f"({ADMIN}) or ({PROJECT_MEMBER}) or rule:service_api",
    "create_port:device_owner": f"not rule:network_device or {ADMIN_SERVICE_OR_NET_OWNER_MEMBER}",
    "create_port:mac_address": ADMIN_SERVICE_OR_NET_OWNER_MEMBER,
    "create_port:fixed_ips": f"{ADMIN_SERVICE_OR_NET_OWNER_MEMBER} or rule:shared",
    "create_port:fixed_ips:ip_address": ADMIN_SERVICE_OR_NET_OWNER_MEMBER,
    "create_port:fixed_ips:subnet_id": f"{ADMIN_SERVICE_OR_NET_OWNER_MEMBER} or rule:shared",
    "create_port:port_security_enabled": ADMIN_SERVICE_OR_NET_OWNER_MEMBER,
    "create_port:binding:host_id": ADMIN_OR_SERVICE,
    "create_port:binding:profile": "rule:service_api",
    "create_port:binding:vnic_type": f"({ADMIN}) or ({PROJECT_MEMBER}) or rule:service_api",
    "create_port:allowed_address_pairs": f"({ADMIN}) or ({NET_OWNER_MEMBER}) or rule:service_api",
    "create_port:tags": f"({ADMIN}) or ({PROJECT_MEMBER}) or rule:context_is_advsvc",
    "get_port": f"{ADMIN_OR_SERVICE} or {NET_OWNER_READER} or {PROJECT_READER}",
    "get_port:binding:vif_type": ADMIN_OR_SERVICE,
    "get_port:binding:vif_details": ADMIN_OR_SERVICE,
    "get_port:binding:host_id": ADMIN_OR_SERVICE,
    "get_port:binding:profile": ADMIN_OR_SERVICE,
    "get_port:tags": f"rule:context_is_advsvc or ({ADMIN}) or ({NET_OWNER_READER}) or {PROJECT_READER}",
    "update_port": f"{ADMIN_OR_SERVICE} or {PROJECT_MEMBER}",
    "update_port:device_id": f"({ADMIN}) or ({PROJECT_MEMBER}) or rule:service_api",
    "update_port:device_owner": f"not rule:network_device or {ADMIN_SERVICE_OR_NET_OWNER_MEMBER}",
    "update_port:mac_address": f"{ADMIN_OR_SERVICE} or role:manager and rule:network_owner",
    "update_port:fixed_ips": ADMIN_SERVICE_OR_NET_OWNER_MEMBER,
    "update_port:fixed_ips:ip_address": ADMIN_SERVICE_OR_NET_OWNER_MEMBER,
    "update_port:fixed_ips:subnet_id": f"{ADMIN_SERVICE_OR_NET_OWNER_MEMBER} or rule:shared",
    "update_port:port_security_enabled": ADMIN_SERVICE_OR_NET_OWNER_MEMBER,
    "update_port:binding:host_id": ADMIN_OR_SERVICE,
    "update_port:binding:profile": "rule:service_api",
    "update_port:binding:vnic_type": f"{ADMIN_OR_SERVICE} or {PROJECT_MEMBER}",
    "update_port:allowed_address_pairs": f"({ADMIN}) or ({NET_OWNER_MEMBER}) or rule:service_api",
    "update_port:tags": f"({ADMIN}) or ({PROJECT_MEMBER}) or rule:context_is_advsvc",
    "delete_port": f"{ADMIN_OR_SERVICE} or {NET_OWNER_MEMBER} or {PROJECT_MEMBER}",
    "delete_port:tags": f"rule:context_is_advsvc or {PROJECT_MEMBER} or ({ADMIN}) or ({NET_OWNER_MEMBER})",
}

SECURITY_GROUPS: dict[str, str] = {
    "create_security_group": ADMIN_OR_PROJECT_MEMBER,
    "create_security_group:tags": ADMIN_OR_PROJECT_MEMBER,
    "get_security_group": ADMIN_OR_PROJECT_READER,
    "get_security_group:tags": ADMIN_OR_PROJECT_READER,
    "update_security_group": ADMIN_OR_PROJECT_MEMBER,
    "update_security_group:tags": ADMIN_OR_PROJECT_MEMBER,
    "delete_security_group": ADMIN_OR_PROJECT_MEMBER,
    "delete_security_group:tags": ADMIN_OR_PROJECT_MEMBER,
    "create_security_group_rule": f"({ADMIN}) or (role:member and rule:sg_owner)",
    "get_security_group_rule": f"({ADMIN}) or (role:reader and rule:sg_owner)",
    "delete_security_group_rule": f"({ADMIN}) or (role:member and rule:sg_owner)",
}

# a policy's targets: "*" (every project) is the admin's to grant
NOT_WILDCARD = "not '*':%(target_tenant)s and not '*':%(target_project)s"
RBAC_POLICIES: dict[str, str] = {
    "restrict_wildcard": f"({NOT_WILDCARD}) or {ADMIN}",
    "create_rbac_policy": ADMIN_OR_PROJECT_MEMBER,
    "create_rbac_policy:target_tenant": f"{ADMIN} or ({NOT_WILDCARD})",
    "create_rbac_policy:target_project": f"{ADMIN} or not '*':%(target_project)s",
    "update_rbac_policy": ADMIN_OR_PROJECT_MEMBER,
    "update_rbac_policy:target_tenant": f"{ADMIN} or ({NOT_WILDCARD})",
    "update_rbac_policy:target_project": f"{ADMIN} or not '*':%(target_project)s",
    "get_rbac_policy": ADMIN_OR_PROJECT_READER,
    "delete_rbac_policy": ADMIN_OR_PROJECT_MEMBER,
}

PROJECT_MANAGER = "role:manager and project_id:%(project_id)s"

SUBNETPOOLS: dict[str, str] = {
    "create_subnetpool": ADMIN_OR_PROJECT_MEMBER,
    "create_subnetpool:shared": ADMIN,
    "create_subnetpool:is_default": ADMIN,
    "create_subnetpool:tags": ADMIN_OR_PROJECT_MEMBER,
    "get_subnetpool": f"{ADMIN_OR_PROJECT_READER} or rule:shared",
    "get_subnetpool:tags": f"{ADMIN_OR_PROJECT_READER} or rule:shared",
    "update_subnetpool": ADMIN_OR_PROJECT_MEMBER,
    "update_subnetpool:is_default": ADMIN,
    "update_subnetpool:tags": ADMIN_OR_PROJECT_MEMBER,
    "delete_subnetpool": ADMIN_OR_PROJECT_MEMBER,
    "delete_subnetpool:tags": ADMIN_OR_PROJECT_MEMBER,
    "add_prefixes": ADMIN_OR_PROJECT_MEMBER,
    "remove_prefixes": ADMIN_OR_PROJECT_MEMBER,
}

ROUTERS: dict[str, str] = {
    "create_router": ADMIN_OR_PROJECT_MEMBER,
    "create_router:distributed": ADMIN,
    "create_router:ha": ADMIN,
    "create_router:external_gateway_info": ADMIN_OR_PROJECT_MEMBER,
    "create_router:external_gateway_info:network_id": ADMIN_OR_PROJECT_MEMBER,
    "create_router:external_gateway_info:enable_snat": ADMIN,
    "create_router:external_gateway_info:external_fixed_ips": ADMIN,
    "create_router:tags": ADMIN_OR_PROJECT_MEMBER,
    "get_router": ADMIN_OR_PROJECT_READER,
    "get_router:distributed": ADMIN,
    "get_router:ha": ADMIN,
    "get_router:tags": ADMIN_OR_PROJECT_READER,
    "update_router": ADMIN_OR_PROJECT_MEMBER,
    "update_router:distributed": ADMIN,
    "update_router:ha": ADMIN,
    "update_router:external_gateway_info": ADMIN_OR_PROJECT_MEMBER,
    "update_router:external_gateway_info:network_id": ADMIN_OR_PROJECT_MEMBER,
    "update_router:external_gateway_info:enable_snat": ADMIN,
    "update_router:external_gateway_info:external_fixed_ips": ADMIN,
    "update_router:tags": ADMIN_OR_PROJECT_MEMBER,
    "delete_router": ADMIN_OR_PROJECT_MEMBER,
    "delete_router:tags": ADMIN_OR_PROJECT_MEMBER,
    "add_router_interface": ADMIN_OR_PROJECT_MEMBER,
    "remove_router_interface": ADMIN_OR_PROJECT_MEMBER,
    "add_extraroutes": ADMIN_OR_PROJECT_MEMBER,
    "remove_extraroutes": ADMIN_OR_PROJECT_MEMBER,
}

FLOATING_IPS: dict[str, str] = {
    "create_floatingip": ADMIN_OR_PROJECT_MEMBER,
    "create_floatingip:floating_ip_address": f"({ADMIN}) or ({PROJECT_MANAGER})",
    "create_floatingip:tags": ADMIN_OR_PROJECT_MEMBER,
    "get_floatingip": ADMIN_OR_PROJECT_READER,
    "get_floatingip:tags": ADMIN_OR_PROJECT_READER,
    "update_floatingip": ADMIN_OR_PROJECT_MEMBER,
    "update_floatingip:tags": ADMIN_OR_PROJECT_MEMBER,
    "delete_floatingip": ADMIN_OR_PROJECT_MEMBER,
    "delete_floatingip:tags": ADMIN_OR_PROJECT_MEMBER,
    "get_floatingip_pool": ADMIN_OR_PROJECT_READER,
}

AGENTS: dict[str, str] = {
    "get_agent": ADMIN,
    "update_agent": ADMIN,
    "delete_agent": ADMIN,
}

AUTO_ALLOCATED_TOPOLOGY: dict[str, str] = {
    "get_auto_allocated_topology": ADMIN_OR_PROJECT_READER,
    "delete_auto_allocated_topology": ADMIN_OR_PROJECT_MEMBER,
}

QUOTAS_AND_ZONES: dict[str, str] = {
    "get_quota": ADMIN_OR_PROJECT_READER,
    "update_quota": ADMIN,
    "delete_quota": ADMIN,
    "get_availability_zone": "role:reader",
    "get_service_provider": "role:reader",
}

RULES: dict[str, str] = {
    **BASE,
    **NETWORKS,
    **SUBNETS,
    **PORTS,
    **SECURITY_GROUPS,
    **RBAC_POLICIES,
    **SUBNETPOOLS,
    **ROUTERS,
    **FLOATING_IPS,
    **AGENTS,
    **AUTO_ALLOCATED_TOPOLOGY,
    **QUOTAS_AND_ZONES,
}
