"""core.policy: oslo.policy's rule language, named rules, and policy-file overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import Forbidden, Unauthorized
from pocketstack.core.policy import Enforcer, PolicySyntaxError, parse_rule

MEMBER = {"user_id": "u1", "project_id": "p1", "roles": {"member", "reader"}, "system_scope": None}
ADMIN = {"user_id": "u0", "project_id": "p0", "roles": {"admin", "member", "reader"}, "system_scope": "all"}


def check(rule: str, creds: dict[str, Any] = MEMBER, target: dict[str, Any] | None = None, enforcer: Enforcer | None = None) -> bool:
    target = target or {}
    return parse_rule(rule)(creds, {**target, "target": target}, enforcer or Enforcer())


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("role:member", True),
        ("role:MEMBER", True),  # role names compare case-insensitively, as Keystone's
        ("role:admin", False),
        ("role:admin or role:member", True),
        ("role:admin and role:member", False),
        ("role:reader and role:member", True),
        ("not role:admin", True),
        ("not not role:member", True),
        ("role:admin or role:reader and role:member", True),  # and binds tighter than or
        ("(role:admin or role:reader) and not role:member", False),
        ("@", True),
        ("!", False),
        ("", True),  # the empty rule lets anyone through, as in oslo.policy
        ("role:admin or @", True),
        ("role:member and !", False),
    ],
)
def test_boolean_structure(rule: str, expected: bool) -> None:
    assert check(rule) is expected


def test_target_substitution_in_both_spellings() -> None:
    mine = {"project_id": "p1", "user": {"id": "u1"}}
    theirs = {"project_id": "p2", "user": {"id": "u2"}}
    for rule in ("project_id:%(target.project_id)s", "project_id:%(project_id)s", "user_id:%(target.user.id)s"):
        assert check(rule, target=mine), rule
        assert not check(rule, target=theirs), rule


def test_missing_target_value_never_matches() -> None:
    assert not check("project_id:%(target.project_id)s", target={})
    assert not check("user_id:%(target.user.id)s", target={"user": "not-a-dict"})
    # a credential that is None must not match a target value of None either
    assert not check("domain_id:%(target.domain_id)s", {**MEMBER, "domain_id": None}, {"domain_id": None})


def test_literals() -> None:
    assert check("system_scope:all", ADMIN)
    assert not check("system_scope:all", MEMBER)
    assert check("'member':%(target.role.name)s", target={"role": {"name": "member"}})
    assert not check("'member':%(target.role.name)s", target={"role": {"name": "admin"}})
    assert check("True:%(target.enabled)s", target={"enabled": True})
    assert not check("True:%(target.enabled)s", target={"enabled": False})
    assert check("role:%(target.role)s", target={"role": "Reader"})


def test_rule_references_and_unknown_rules() -> None:
    enforcer = Enforcer()
    enforcer.register_defaults(
        {
            "admin_required": "role:admin",
            "owner": "user_id:%(target.user_id)s",
            "admin_or_owner": "rule:admin_required or rule:owner",
        }
    )
    assert enforcer.check("admin_or_owner", MEMBER, {"user_id": "u1"})
    assert not enforcer.check("admin_or_owner", MEMBER, {"user_id": "u9"})
    assert enforcer.check("admin_or_owner", ADMIN, {"user_id": "u9"})
    assert not enforcer.check("no_such_rule", ADMIN, {})  # unknown rules grant nothing
    assert not check("rule:no_such_rule", ADMIN, enforcer=enforcer)


@pytest.mark.parametrize("rule", ["role:admin or", "(role:admin", "role:admin)", "and role:admin", "justaword", "role:a role:b", "not"])
def test_syntax_errors(rule: str) -> None:
    with pytest.raises(PolicySyntaxError):
        parse_rule(rule)


def test_policy_file_overrides_defaults_in_yaml_and_json(tmp_path: Path) -> None:
    defaults = {"identity:get_thing": "role:admin", "identity:list_things": "role:reader"}
    yaml_file = tmp_path / "policy.yaml"
    yaml_file.write_text('"identity:get_thing": "role:member"\n')
    json_file = tmp_path / "policy.json"
    json_file.write_text(json.dumps({"identity:list_things": "!"}))
    for path, name, now in ((yaml_file, "identity:get_thing", True), (json_file, "identity:list_things", False)):
        enforcer = Enforcer()
        enforcer.load_file(path)
        # defaults registered after the file (as services do at start-up) must not win
        enforcer.register_defaults(defaults)
        assert enforcer.check(name, MEMBER, {}) is now
        other = next(n for n in defaults if n != name)
        assert enforcer.rule_text(other) == defaults[other]


def test_enforce_raises_unauthorized_then_forbidden() -> None:
    enforcer = Enforcer()
    enforcer.register_defaults({"x": "role:admin"})
    with pytest.raises(Unauthorized):
        enforcer.enforce("x", RequestContext(request_id="r"))
    member = RequestContext(request_id="r", authenticated=True, user_id="u1", roles=frozenset({"member"}))
    with pytest.raises(Forbidden):
        enforcer.enforce("x", member)
    admin = RequestContext(request_id="r", authenticated=True, user_id="u0", roles=frozenset({"admin"}))
    enforcer.enforce("x", admin)
    assert enforcer.allowed("x", admin) and not enforcer.allowed("x", member)


def test_identity_defaults_all_parse() -> None:
    from pocketstack.services.identity.policy import RULES

    enforcer = Enforcer()
    enforcer.register_defaults(RULES)  # raises PolicySyntaxError on a bad default
    assert len(RULES) > 50
