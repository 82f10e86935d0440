"""Network agents: rows the agents write with report_agent (as the dataplane agent does on
every pass), shown by /v2.0/agents with `alive` from the heartbeat; admins take an agent
out of service or delete it; others see none. The CLI and openstacksdk."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from pocketstack.core.db import Database
from pocketstack.services.network.backend.agents import AGENT_DOWN_TIME, report_agent
from pocketstack.services.network.models import Agent
from pocketstack.testing.server import LiveCloud
from tests.api.network.conftest import Tenant, fault, ok
from tests.conftest import ServiceClient, unique

AGENT_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def database(network_cloud: LiveCloud) -> Iterator[Database]:
    """The cloud's own database, as an agent process on the same host opens it."""
    db = Database(network_cloud.database_url or f"sqlite:///{network_cloud.data_dir / 'pocketstack.db'}")
    yield db
    db.dispose()


def report(database: Database, agent_type: str, host: str, **configurations: Any) -> dict[str, Any]:
    """One heartbeat; what the agent reads back."""
    binary = {"L3 agent": "neutron-l3-agent", "DHCP agent": "neutron-dhcp-agent"}.get(agent_type, "pocketstack-network-agent")
    with database.write() as db:
        row = report_agent(db, agent_type, binary, host, configurations)
        return {"id": row.id, "admin_state_up": row.admin_state_up, "started_at": row.started_at}


def age(database: Database, agent_id: str, by: dt.timedelta) -> None:
    """Pretend the agent last reported `by` ago (and started before that)."""
    moment = dt.datetime.now(dt.timezone.utc) - by
    with database.write() as db:
        db.execute(update(Agent).where(Agent.id == agent_id).values(heartbeat_timestamp=moment, started_at=moment - by))


def test_reports_make_and_refresh_an_agent(database: Database, neutron: ServiceClient) -> None:
    host = unique("host")
    first = report(database, "L3 agent", host, routers=0)
    agent = ok(neutron.get(f"/agents/{first['id']}"))["agent"]
    assert agent["agent_type"] == "L3 agent" and agent["binary"] == "neutron-l3-agent" and agent["host"] == host
    assert agent["topic"] == "l3_agent" and agent["availability_zone"] == "nova"
    assert agent["alive"] is True and agent["admin_state_up"] is True and agent["configurations"] == {"routers": 0}
    for key in ("created_at", "started_at", "heartbeat_timestamp"):
        assert AGENT_TIME.fullmatch(agent[key]), agent[key]
    again = report(database, "L3 agent", host, routers=2)
    assert again["id"] == first["id"] and again["started_at"] == first["started_at"]
    assert ok(neutron.get(f"/agents/{first['id']}"))["agent"]["configurations"] == {"routers": 2}
    # one row per type and host; other types have no zone and Neutron's "N/A" topic
    bridge = report(database, "Linux bridge agent", host, bridges=1)
    shown = ok(neutron.get(f"/agents/{bridge['id']}"))["agent"]
    assert shown["topic"] == "N/A" and shown["availability_zone"] is None
    listed = ok(neutron.get(f"/agents?host={host}&sort_key=agent_type"))["agents"]
    assert [a["agent_type"] for a in listed] == ["L3 agent", "Linux bridge agent"]
    assert [a["id"] for a in ok(neutron.get(f"/agents?host={host}&agent_type=L3 agent&fields=id"))["agents"]] == [first["id"]]
    # routers are served in the zones of alive L3 agents
    router = ok(neutron.post("/routers", json={"router": {"name": "zoned"}}), 201)["router"]
    assert router["availability_zones"] == ["nova"]
    ok(neutron.delete(f"/routers/{router['id']}"), 204)


def test_an_agent_that_stops_reporting_is_dead_until_it_reports_again(database: Database, neutron: ServiceClient) -> None:
    host = unique("host")
    agent = report(database, "DHCP agent", host)
    age(database, agent["id"], AGENT_DOWN_TIME + dt.timedelta(seconds=5))
    aged = ok(neutron.get(f"/agents/{agent['id']}"))["agent"]
    assert aged["alive"] is False
    dead = ok(neutron.get(f"/agents?host={host}&alive=false"))["agents"]
    assert [a["id"] for a in dead] == [agent["id"]] and ok(neutron.get(f"/agents?host={host}&alive=true"))["agents"] == []
    report(database, "DHCP agent", host)
    back = ok(neutron.get(f"/agents/{agent['id']}"))["agent"]
    assert back["alive"] is True and back["started_at"] > aged["started_at"]  # it came back: a new start
    fault(neutron.get("/agents?alive=maybe"), 400)
    fault(neutron.get("/agents?colour=red"), 400)


def test_admin_disables_describes_and_deletes(database: Database, neutron: ServiceClient) -> None:
    host = unique("host")
    agent = report(database, "Metadata agent", host)
    changed = ok(neutron.put(f"/agents/{agent['id']}", json={"agent": {"admin_state_up": False, "description": "maintenance"}}))
    assert changed["agent"]["admin_state_up"] is False and changed["agent"]["description"] == "maintenance"
    assert report(database, "Metadata agent", host)["admin_state_up"] is False  # the agent reads it back
    for body in (
        {"agent": {"host": "elsewhere"}},
        {"agent": {"alive": False}},
        {"agent": {"colour": "red"}},
        {"agent": {"admin_state_up": "x"}},
    ):
        fault(neutron.put(f"/agents/{agent['id']}", json=body), 400)
    ok(neutron.delete(f"/agents/{agent['id']}"), 204)
    fault(neutron.get(f"/agents/{agent['id']}"), 404, "AgentNotFound")
    fault(neutron.delete(f"/agents/{agent['id']}"), 404, "AgentNotFound")
    # a live agent registers again on its next report
    again = report(database, "Metadata agent", host)
    assert again["id"] != agent["id"] and again["admin_state_up"] is True


def test_agents_are_the_admins(database: Database, alice: Tenant) -> None:
    agent = report(database, "L3 agent", unique("host"))
    assert ok(alice.neutron.get("/agents"))["agents"] == []
    fault(alice.neutron.get(f"/agents/{agent['id']}"), 404, "AgentNotFound")
    fault(alice.neutron.put(f"/agents/{agent['id']}", json={"agent": {"admin_state_up": False}}), 404, "AgentNotFound")
    fault(alice.neutron.delete(f"/agents/{agent['id']}"), 404, "AgentNotFound")


def test_cli_and_sdk(database: Database, network_osc: Any, network_sdk: Any) -> None:
    host = unique("host")
    agent = report(database, "DHCP agent", host)
    listed = network_osc("network", "agent", "list", "--host", host, "-f", "value", "-c", "ID", "-c", "Alive").stdout
    assert listed.split() == [agent["id"], "True"]
    network_osc("network", "agent", "set", "--disable", "--description", "cli", agent["id"])
    shown = json.loads(network_osc("network", "agent", "show", agent["id"], "-f", "json").stdout)
    assert shown["admin_state_up"] in (False, "DOWN") and shown["description"] == "cli" and shown["host"] == host
    found = network_sdk.network.get_agent(agent["id"])
    assert found.agent_type == "DHCP agent" and found.is_admin_state_up is False and found.description == "cli"
    network_sdk.network.update_agent(found, is_admin_state_up=True)
    assert [a.id for a in network_sdk.network.agents(host=host)] == [agent["id"]]
    assert network_sdk.network.get_agent(agent["id"]).is_admin_state_up is True
    network_osc("network", "agent", "delete", agent["id"])
    assert agent["id"] not in network_osc("network", "agent", "list", "-f", "value", "-c", "ID").stdout
