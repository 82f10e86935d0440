"""Role, role inference and role assignment bodies, shaped exactly as Keystone's."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import Call

from ..backend.assignments import Names, Ref
from ..models import Role
from .common import links
from .credentials import role_ref


def role(call: Call, row: Role) -> dict[str, Any]:
    return {**(row.extra or {}), **role_ref(row), "links": links(call, f"/v3/roles/{row.id}")}


def inference_role(call: Call, row: Role) -> dict[str, Any]:
    """A prior or implied role inside a role_inference: id, name and link only."""
    return {"id": row.id, "links": links(call, f"/v3/roles/{row.id}"), "name": row.name}


def inference(call: Call, prior: Role, implies: Role | list[Role], path: str) -> dict[str, Any]:
    implied = [inference_role(call, r) for r in implies] if isinstance(implies, list) else inference_role(call, implies)
    return {"role_inference": {"prior_role": inference_role(call, prior), "implies": implied}, "links": links(call, path)}


def inferences(call: Call, rules: list[tuple[Role, list[Role]]]) -> dict[str, Any]:
    return {
        "role_inferences": [
            {"prior_role": inference_role(call, prior), "implies": [inference_role(call, r) for r in implied]}
            for prior, implied in rules
        ]
    }


# -- role assignments (keystone.api.role_assignments._format_entity) ---------------------------


def assignment(call: Call, ref: Ref, names: Names | None) -> dict[str, Any]:
    body: dict[str, Any] = {"links": {}}
    path, scope, inherited = _scope(ref, names)
    body["scope"] = scope
    if ref.user_id:
        body["user"] = _actor(ref.user_id, names.users if names else None, names)
        if ref.via_group:
            body["links"]["membership"] = call.url(f"/v3/groups/{ref.via_group}/users/{ref.user_id}")
            path += f"/groups/{ref.via_group}"
        else:
            path += f"/users/{ref.user_id}"
    elif ref.group_id:
        body["group"] = _actor(ref.group_id, names.groups if names else None, names)
        path += f"/groups/{ref.group_id}"
    body["role"] = _role(ref.role_id, names)
    path += f"/roles/{ref.prior_role_id or ref.role_id}"
    if inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
        path = f"/OS-INHERIT{path}/inherited_to_projects"
    body["links"]["assignment"] = call.url("/v3" + path)
    if ref.prior_role_id:
        # Keystone's own spelling (and order) of this link, kept for compatibility
        body["links"]["prior_role"] = call.url(f"/v3/prior_role/{ref.role_id}/implies/{ref.prior_role_id}")
    return body


def _scope(ref: Ref, names: Names | None) -> tuple[str, dict[str, Any], bool]:
    """The grant's path prefix, the scope body, and whether it is an inherited grant."""
    if ref.project_id:
        project: dict[str, Any] = {"id": ref.project_id}
        if names is not None:
            name, domain_id = names.projects.get(ref.project_id, ("", ""))
            project.update(name=name, domain={"id": domain_id, "name": names.domain_name(domain_id)})
        if ref.via_domain:
            return f"/domains/{ref.via_domain}", {"project": project}, True
        if ref.via_project:
            return f"/projects/{ref.via_project}", {"project": project}, True
        return f"/projects/{ref.project_id}", {"project": project}, ref.inherited
    if ref.domain_id:
        domain: dict[str, Any] = {"id": ref.domain_id}
        if names is not None:
            domain["name"] = names.domain_name(ref.domain_id)
        return f"/domains/{ref.domain_id}", {"domain": domain}, ref.inherited
    return "/system", {"system": {"all": True}}, False


def _actor(actor_id: str, known: dict[str, tuple[str, str]] | None, names: Names | None) -> dict[str, Any]:
    if known is None or names is None:
        return {"id": actor_id}
    name, domain_id = known.get(actor_id, ("", ""))
    return {"id": actor_id, "name": name, "domain": {"id": domain_id, "name": names.domain_name(domain_id)}}


def _role(role_id: str, names: Names | None) -> dict[str, Any]:
    if names is None:
        return {"id": role_id}
    name, domain_id = names.roles.get(role_id, ("", None))
    body: dict[str, Any] = {"id": role_id, "name": name}
    if domain_id:
        body["domain"] = {"id": domain_id, "name": names.domain_name(domain_id)}
    return body
