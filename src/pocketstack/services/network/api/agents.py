"""/v2.0/agents: list, show, update (admin_state_up, description), delete. Agents are
the admins': others list none (as Neutron filters what policy hides) and find none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import agents as backend
from ..common.attributes import parse_update
from ..common.authorize import authorize_or_hide
from ..common.handlers import shown
from ..common.listing import ListQuery
from ..faults import AgentNotFound
from ..models import Agent
from ..schemas.agents import ATTRIBUTES, AgentUpdate
from ..views import agents as views

api = ApiRouter(neutron_fault)

COLLECTION = "/v2.0/agents"
ITEM = "/v2.0/agents/{agent_id}"


def _target(call: Call) -> dict[str, Any]:
    return {"project_id": call.ctx.project_id, "tenant_id": call.ctx.project_id}


def visible_agent(call: Call, rule: str) -> Agent:
    call.require_auth()
    agent_id = call.params["agent_id"]
    authorize_or_hide(call, rule, _target(call), "get_agent", AgentNotFound(agent_id))
    return backend.get_agent(call.db, agent_id)


@api.route("GET", COLLECTION)
def list_agents(call: Call) -> dict[str, Any]:
    call.require_auth()
    query = ListQuery.parse(call, backend.COLLECTION)
    if not call.allowed("get_agent", _target(call)):
        return {"agents": []}
    result = query.run(call.db, select(Agent))
    return query.respond(call, [views.agent(row) for row in result.rows], result)


@api.route("GET", ITEM)
def show_agent(call: Call) -> dict[str, Any]:
    return shown(call, "agent", views.agent(visible_agent(call, "get_agent")))


@api.route("PUT", ITEM)
def update_agent(call: Call) -> dict[str, Any]:
    item = parse_update(call, "agent", AgentUpdate, known=ATTRIBUTES)
    agent = visible_agent(call, "update_agent")
    return {"agent": views.agent(backend.update_agent(call.db, agent, item.values))}


@api.route("DELETE", ITEM, status=204)
def delete_agent(call: Call) -> None:
    backend.delete_agent(call.db, visible_agent(call, "delete_agent"))
