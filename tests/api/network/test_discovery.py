"""Finding the networking API: the catalog entry (the unversioned prefix, as DevStack
publishes Neutron's), the version document, /v2.0, the extensions (exactly what is
implemented) and availability zones; clients get there unchanged."""

from __future__ import annotations

from typing import Any

import httpx

from pocketstack.services.network.extensions import EXTENSIONS
from pocketstack.testing.server import LiveCloud
from tests.api.network.conftest import fault, ok
from tests.conftest import Identity, ServiceClient


def test_catalog_names_neutron_at_the_unversioned_prefix(network_cloud: LiveCloud, network_admin: Identity) -> None:
    catalog = ok(network_admin.get("/auth/catalog"))["catalog"]
    (entry,) = [service for service in catalog if service["type"] == "network"]
    assert entry["name"] == "neutron"
    assert {endpoint["url"] for endpoint in entry["endpoints"]} == {network_cloud.url + "/networking"}


def test_version_document_answers_without_a_token(network_cloud: LiveCloud) -> None:
    body = ok(httpx.get(network_cloud.url + "/networking/"))
    assert body == {
        "versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": network_cloud.url + "/networking/v2.0/"}]}]
    }
    assert ok(httpx.get(network_cloud.url + "/networking")) == body


def test_v2_lists_the_core_resources(neutron: ServiceClient) -> None:
    resources = ok(neutron.get(""))["resources"]
    assert {(r["name"], r["collection"]) for r in resources} == {("network", "networks"), ("subnet", "subnets"), ("port", "ports")}
    assert all(r["links"][0]["href"].endswith("/networking/v2.0/" + r["collection"]) for r in resources)


def test_extensions_list_and_show(neutron: ServiceClient) -> None:
    listed = ok(neutron.get("/extensions"))["extensions"]
    aliases = [extension["alias"] for extension in listed]
    assert aliases == [extension.alias for extension in EXTENSIONS]
    assert len(set(aliases)) == len(aliases)
    for wanted in (
        "security-group",
        "external-net",
        "provider",
        "quotas",
        "standard-attr-tag",
        "binding",
        "allowed-address-pairs",
        "router",
        "ext-gw-mode",
        "extraroute",
        "extraroute-atomic",
        "fip-port-details",
        "floatingip-pools",
        "agent",
        "subnet_allocation",
        "default-subnetpools",
        "service-type",
    ):
        assert wanted in aliases
    # what is not built is not announced: clients (and Tempest) skip it
    for missing in ("dvr", "l3-ha", "address-scope", "dhcp_agent_scheduler", "l3_agent_scheduler", "dns-integration"):
        assert missing not in aliases
    one = ok(neutron.get("/extensions/security-group"))["extension"]
    assert set(one) == {"alias", "name", "description", "updated", "links"}
    assert "Extension with alias dvr does not exist" in fault(neutron.get("/extensions/dvr"), 404, "ExtensionNotFound")


def test_unknown_paths_and_methods_answer_in_neutrons_format(neutron: ServiceClient) -> None:
    fault(neutron.get("/routers-not-yet"), 404, "HTTPNotFound")
    fault(neutron.request("PATCH", "/networks"), 405, "HTTPMethodNotAllowed")


def test_a_token_is_needed(network_cloud: LiveCloud) -> None:
    assert httpx.get(network_cloud.url + "/networking/v2.0/networks").status_code == 401


def test_availability_zones(neutron: ServiceClient) -> None:
    zones = ok(neutron.get("/availability_zones"))["availability_zones"]
    assert zones == [
        {"name": "nova", "resource": "network", "state": "available"},
        {"name": "nova", "resource": "router", "state": "available"},
    ]
    assert ok(neutron.get("/availability_zones?resource=router"))["availability_zones"] == [zones[1]]
    assert ok(neutron.get("/availability_zones?resource=volume"))["availability_zones"] == []


def test_cli_and_sdk_find_the_service(network_cloud: LiveCloud, network_osc: Any, network_sdk: Any) -> None:
    listed = network_osc("extension", "list", "--network", "-f", "value", "-c", "Alias").stdout.split()
    assert "security-group" in listed and "router" in listed and "dvr" not in listed
    assert network_sdk.network.find_extension("quotas") is not None
    # openstacksdk adds /v2.0 to the catalog's endpoint, as it does with DevStack's Neutron
    assert network_sdk.network.get_endpoint().rstrip("/") == network_cloud.url + "/networking/v2.0"


def test_service_providers(neutron: ServiceClient, network_osc: Any) -> None:
    providers = ok(neutron.get("/service-providers"))["service_providers"]
    assert providers == [{"service_type": "L3_ROUTER_NAT", "name": "pocketstack", "default": True}]
    assert ok(neutron.get("/service-providers?service_type=FIREWALL"))["service_providers"] == []
    assert ok(neutron.get("/service-providers?default=true&fields=name"))["service_providers"] == [{"name": "pocketstack"}]
    fault(neutron.get("/service-providers?default=perhaps"), 400)
    listed = network_osc("network", "service", "provider", "list", "-f", "value").stdout
    assert "L3_ROUTER_NAT pocketstack True" in listed
