"""/v2.0/security-groups and /v2.0/security-group-rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import neutron_fault

from ..backend import security_groups as backend
from ..backend.common import Viewer
from ..common.attributes import parse_create, parse_update
from ..common.authorize import authorize, authorize_attributes, authorize_or_hide, owner_target
from ..common.handlers import created, owner, shown
from ..common.listing import ListQuery
from ..common.standard import check_revision
from ..faults import SecurityGroupNotFound, SecurityGroupRuleNotFound
from ..models import SecurityGroup, SecurityGroupRule
from ..schemas.security_groups import GROUP_ATTRIBUTES, RULE_ATTRIBUTES, RuleCreate, SecurityGroupCreate, SecurityGroupUpdate
from ..views import security_groups as views

api = ApiRouter(neutron_fault)

GROUPS = "/v2.0/security-groups"
GROUP = "/v2.0/security-groups/{security_group_id}"
RULES = "/v2.0/security-group-rules"
RULE = "/v2.0/security-group-rules/{rule_id}"


def viewer(call: Call) -> Viewer:
    call.require_auth()
    return Viewer.of(call.ctx)


def visible_group(call: Call, rule: str) -> SecurityGroup:
    group_id = call.params["security_group_id"]
    group = backend.get_group(call.db, viewer(call), group_id)
    authorize_or_hide(call, rule, backend.group_target(group), "get_security_group", SecurityGroupNotFound(group_id))
    return group


# -- groups -----------------------------------------------------------------------------
@api.route("GET", GROUPS, tx="write")  # the caller's default group is made on first sight
def list_security_groups(call: Call) -> dict[str, Any]:
    who = viewer(call)
    query = ListQuery.parse(call, backend.GROUPS)
    if who.project_id:
        backend.default_group(call.db, who.project_id)
    result = query.run(call.db, select(SecurityGroup).where(backend.visible_groups(who)))
    return query.respond(call, [views.group(row) for row in result.rows], result, GROUPS)


@api.route("GET", GROUP)
def show_security_group(call: Call) -> dict[str, Any]:
    return shown(call, "security_group", views.group(visible_group(call, "get_security_group")))


@api.route("POST", GROUPS, status=201)
def create_security_group(call: Call) -> dict[str, Any]:
    made = []
    for item in parse_create(call, "security_group", SecurityGroupCreate, known=GROUP_ATTRIBUTES):
        project_id = owner(call, item)
        target = owner_target(project_id)
        authorize(call, "create_security_group", target)
        authorize_attributes(call, "create", "security_group", item.explicit, target)
        made.append(backend.create_group(call.db, project_id, item.values))
    return created(call, "security_group", [views.group(row) for row in made])


@api.route("PUT", GROUP)
def update_security_group(call: Call) -> dict[str, Any]:
    item = parse_update(call, "security_group", SecurityGroupUpdate, known=GROUP_ATTRIBUTES)
    group = visible_group(call, "update_security_group")
    check_revision(call, group)
    return {"security_group": views.group(backend.update_group(call.db, group, item.values))}


@api.route("DELETE", GROUP, status=204)
def delete_security_group(call: Call) -> None:
    group = visible_group(call, "delete_security_group")
    check_revision(call, group)
    backend.delete_group(call.db, viewer(call), group)


# -- rules ------------------------------------------------------------------------------
@api.route("GET", RULES)
def list_security_group_rules(call: Call) -> dict[str, Any]:
    query = ListQuery.parse(call, backend.RULES)
    result = query.run(call.db, select(SecurityGroupRule).where(backend.visible_rules(viewer(call))))
    return query.respond(call, [views.rule(row) for row in result.rows], result, RULES)


@api.route("GET", RULE)
def show_security_group_rule(call: Call) -> dict[str, Any]:
    rule_id = call.params["rule_id"]
    rule = backend.get_rule(call.db, viewer(call), rule_id)
    authorize_or_hide(
        call, "get_security_group_rule", backend.rule_target(rule), "get_security_group_rule", SecurityGroupRuleNotFound(rule_id)
    )
    return shown(call, "security_group_rule", views.rule(rule))


@api.route("POST", RULES, status=201)
def create_security_group_rule(call: Call) -> dict[str, Any]:
    who = viewer(call)
    items = []
    for item in parse_create(call, "security_group_rule", RuleCreate, known=RULE_ATTRIBUTES):
        project_id = owner(call, item)
        group = backend.get_group(call.db, who, item.values.security_group_id)
        target = {"project_id": project_id, "tenant_id": project_id, "security_group:project_id": group.project_id}
        authorize_or_hide(call, "create_security_group_rule", target, "get_security_group", SecurityGroupNotFound(group.id))
        items.append((project_id, item.values))
    made = backend.create_rules(call.db, who, items)
    return created(call, "security_group_rule", [views.rule(row) for row in made])


@api.route("DELETE", RULE, status=204)
def delete_security_group_rule(call: Call) -> None:
    rule_id = call.params["rule_id"]
    rule = backend.get_rule(call.db, viewer(call), rule_id)
    authorize_or_hide(
        call, "delete_security_group_rule", backend.rule_target(rule), "get_security_group_rule", SecurityGroupRuleNotFound(rule_id)
    )
    check_revision(call, rule)
    backend.delete_rule(call.db, rule)
