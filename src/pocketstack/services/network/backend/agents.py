"""Network agents (neutron/db/agents_db.py): each agent process reports itself on every
pass of its loop (report_agent); /v2.0/agents shows those reports. An agent is alive
while its last heartbeat is younger than AGENT_DOWN_TIME (Neutron's agent_down_time).

An admin may take an agent out of service (admin_state_up false: the agent reads it
back from report_agent and stops serving) or delete its row (a live agent writes it
again on its next report, as in Neutron)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from ..common import standard
from ..common.listing import Attribute, Collection, as_boolean
from ..faults import AgentNotFound
from ..models import Agent
from ..schemas.agents import AgentUpdate
from .common import try_insert

AGENT_DOWN_TIME = dt.timedelta(seconds=75)  # Neutron's agent_down_time default
# the RPC topic Neutron's agents of each type listen on, and whether they serve an
# availability zone (DHCP and L3 agents do; Neutron shows null for the others)
TOPICS = {"DHCP agent": "dhcp_agent", "L3 agent": "l3_agent"}
ZONED_TYPES = ("DHCP agent", "L3 agent")
DEFAULT_ZONE = "nova"


def _alive_clause(values: list[bool]) -> Any:
    threshold = standard.now() - AGENT_DOWN_TIME
    wanted = set(values)
    if wanted == {True}:
        return Agent.heartbeat_timestamp >= threshold
    if wanted == {False}:
        return Agent.heartbeat_timestamp < threshold
    return true() if wanted else false()


COLLECTION = Collection(
    "agents",
    Agent,
    [
        Attribute("id", Agent.id),
        Attribute("agent_type", Agent.agent_type),
        Attribute("binary", Agent.binary),
        Attribute("topic", Agent.topic),
        Attribute("host", Agent.host),
        Attribute("admin_state_up", Agent.admin_state_up, as_boolean),
        Attribute("description", Agent.description),
        Attribute("availability_zone", Agent.availability_zone),
        Attribute("alive", convert=as_boolean, clause=_alive_clause, sort=Agent.heartbeat_timestamp),
        Attribute("created_at", sort=Agent.created_at),
        Attribute("started_at", sort=Agent.started_at),
        Attribute("heartbeat_timestamp", sort=Agent.heartbeat_timestamp),
    ],
    tagged=False,
)


def is_alive(agent: Agent, moment: dt.datetime | None = None) -> bool:
    return (moment or standard.now()) - agent.heartbeat_timestamp < AGENT_DOWN_TIME


def report_agent(
    db: Session, agent_type: str, binary: str, host: str, configurations: dict[str, Any], *, start_flag: bool = False
) -> Agent:
    """An agent's heartbeat: its row (one per type and host) is made on the first report
    and refreshed on every other. started_at moves when the agent says it just started
    (start_flag) or when it comes back after being down. The row is returned: the agent
    reads admin_state_up from it."""
    moment = standard.now()
    agent = _find(db, agent_type, host)
    if agent is None:
        agent = Agent(
            id=standard.new_id(),
            agent_type=agent_type,
            binary=binary,
            topic=TOPICS.get(agent_type, "N/A"),
            host=host,
            admin_state_up=True,
            availability_zone=DEFAULT_ZONE if agent_type in ZONED_TYPES else None,
            configurations=dict(configurations),
            created_at=moment,
            started_at=moment,
            heartbeat_timestamp=moment,
        )
        if try_insert(db, agent):
            return agent
        # another process of the same agent registered it a moment ago
        agent = _find(db, agent_type, host)
        assert agent is not None
    if start_flag or not is_alive(agent, moment):
        agent.started_at = moment
    agent.binary = binary
    agent.configurations = dict(configurations)
    agent.heartbeat_timestamp = moment
    db.flush()
    return agent


def _find(db: Session, agent_type: str, host: str) -> Agent | None:
    return db.scalars(select(Agent).where(Agent.agent_type == agent_type, Agent.host == host)).first()


def get_agent(db: Session, agent_id: str) -> Agent:
    agent = db.get(Agent, agent_id)
    if agent is None:
        raise AgentNotFound(agent_id)
    return agent


def update_agent(db: Session, agent: Agent, spec: AgentUpdate) -> Agent:
    for name in ("admin_state_up", "description"):
        if name in spec.model_fields_set:
            setattr(agent, name, getattr(spec, name))
    db.flush()
    return agent


def delete_agent(db: Session, agent: Agent) -> None:
    db.delete(agent)
    db.flush()


def zones(db: Session, agent_type: str) -> list[str]:
    """The availability zones alive agents of a type serve (for resources' views)."""
    threshold = standard.now() - AGENT_DOWN_TIME
    stmt = select(Agent.availability_zone).where(
        Agent.agent_type == agent_type, Agent.heartbeat_timestamp >= threshold, Agent.availability_zone.is_not(None)
    )
    return sorted({zone for zone in db.scalars(stmt.distinct()) if zone})
