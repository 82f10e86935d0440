"""Policy the way Neutron applies it: per action, per attribute, and with 404 instead of
403 when the caller may not even see the resource.

- An action ("update_network") is checked against the resource as it is.
- Each attribute a request sets is checked too ("create_network:shared",
  "update_port:fixed_ips"), when a rule of that name exists.
- A refused action on a resource the caller may not see answers 404, so that nobody
  learns what exists in other projects (neutron/api/v2/base.py).
- Attributes with a "get_<resource>:<attribute>" rule are left out of the views of
  callers who do not pass it (provider:*, binding:*).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pocketstack.core.api import Call
from pocketstack.core.faults import Fault

from ..faults import PolicyNotAuthorized


def owner_target(project_id: str) -> dict[str, Any]:
    """The policy target of something a project is about to own (Neutron names the
    project both ways in its rules)."""
    return {"project_id": project_id, "tenant_id": project_id}


def authorize(call: Call, rule: str, target: dict[str, Any]) -> None:
    call.require_auth()
    if not call.allowed(rule, target):
        raise PolicyNotAuthorized(rule)


def authorize_or_hide(call: Call, rule: str, target: dict[str, Any], show_rule: str, not_found: Fault) -> None:
    """403 for a resource the caller may see but not act on, 404 for one they may not see."""
    call.require_auth()
    if call.allowed(rule, target):
        return
    if call.allowed(show_rule, target):
        raise PolicyNotAuthorized(rule)
    raise not_found


def authorize_attributes(call: Call, action: str, resource: str, attributes: Iterable[str], target: dict[str, Any]) -> None:
    """Check "<action>_<resource>:<attribute>" for every attribute the request sets."""
    for name in sorted(attributes):
        rule = f"{action}_{resource}:{name}"
        if call.cloud.enforcer.rule_text(rule) is not None and not call.allowed(rule, target):
            raise PolicyNotAuthorized(rule)


def hide_attributes(call: Call, resource: str, view: dict[str, Any], target: dict[str, Any], guarded: Iterable[str]) -> dict[str, Any]:
    """The view without the guarded attributes the caller may not read."""
    for name in guarded:
        if name in view and not call.allowed(f"get_{resource}:{name}", target):
            del view[name]
    return view
