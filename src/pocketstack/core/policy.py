"""RBAC rules in oslo.policy's language, so operators' policy files read the same.

A rule is an expression over the caller's credentials and the target of the call:

    role:admin or (role:reader and project_id:%(target.project_id)s)
    rule:admin_required            (another named rule)
    user_id:%(target.user.id)s     (credential == value taken from the target)
    system_scope:all   @ (always)   ! (never)   not X   (X)

Each service registers its defaults (its `policy.py`); a policy file (YAML or JSON,
name -> expression) overrides any of them. `Enforcer.enforce` raises Forbidden.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .context import RequestContext
from .faults import Forbidden, Unauthorized

Check = Callable[[Mapping[str, Any], Mapping[str, Any], "Enforcer"], bool]

# a check may contain "%(target.x)s", whose parentheses are not grouping
_TOKEN = re.compile(r"\s*(\(|\)|(?:%\([^)]*\)s|[^\s()%]|%(?!\())+)")


class PolicySyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            break
        out.append(m.group(1))
        pos = m.end()
    return out


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    """target["a.b"] if present as a flat key, else target["a"]["b"]."""
    if dotted in data:
        return data[dotted]
    value: Any = data
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


_MISSING = object()
_SUBST = re.compile(r"^%\((.+)\)s$")


def _generic_check(kind: str, match: str) -> Check:
    def check(creds: Mapping[str, Any], target: Mapping[str, Any], enforcer: Enforcer) -> bool:
        m = _SUBST.match(match)
        if m:
            wanted = _lookup(target, m.group(1))
            if wanted is _MISSING:
                return False
        else:
            wanted = match
        if kind[:1] in ("'", '"'):  # literal on the left: 'member':%(role.name)s
            return kind.strip("'\"") == str(wanted)
        if kind in ("True", "False", "None"):
            return str(wanted) == kind
        have = _lookup(creds, kind)
        if have is _MISSING or have is None:
            return False
        if isinstance(have, (set, frozenset, list, tuple)):
            return str(wanted) in {str(v) for v in have}
        return str(have) == str(wanted)

    return check


def _role_check(role: str) -> Check:
    role = role.lower()

    def check(creds: Mapping[str, Any], target: Mapping[str, Any], enforcer: Enforcer) -> bool:
        m = _SUBST.match(role)
        wanted = str(_lookup(target, m.group(1))).lower() if m else role
        return wanted in {r.lower() for r in creds.get("roles", ())}

    return check


def _rule_check(name: str) -> Check:
    def check(creds: Mapping[str, Any], target: Mapping[str, Any], enforcer: Enforcer) -> bool:
        return enforcer.check(name, creds, target)

    return check


def parse_rule(text: str) -> Check:
    tokens = _tokens(text)
    if not tokens:
        return lambda creds, target, enforcer: True  # "" means anyone, as in oslo.policy
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def parse_or() -> Check:
        parts = [parse_and()]
        while peek() == "or":
            take()
            parts.append(parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda c, t, e: any(p(c, t, e) for p in parts)

    def parse_and() -> Check:
        parts = [parse_not()]
        while peek() == "and":
            take()
            parts.append(parse_not())
        if len(parts) == 1:
            return parts[0]
        return lambda c, t, e: all(p(c, t, e) for p in parts)

    def parse_not() -> Check:
        if peek() == "not":
            take()
            inner = parse_not()
            return lambda c, t, e: not inner(c, t, e)
        return parse_atom()

    def parse_atom() -> Check:
        tok = peek()
        if tok is None:
            raise PolicySyntaxError(f"unexpected end of rule: {text!r}")
        take()
        if tok == "(":
            inner = parse_or()
            if peek() != ")":
                raise PolicySyntaxError(f"missing ')' in rule: {text!r}")
            take()
            return inner
        if tok == "@":
            return lambda c, t, e: True
        if tok == "!":
            return lambda c, t, e: False
        if ":" not in tok:
            raise PolicySyntaxError(f"bad check {tok!r} in rule: {text!r}")
        kind, match = tok.split(":", 1)
        if kind == "role":
            return _role_check(match)
        if kind == "rule":
            return _rule_check(match)
        return _generic_check(kind, match)

    result = parse_or()
    if pos != len(tokens):
        raise PolicySyntaxError(f"unexpected {tokens[pos]!r} in rule: {text!r}")
    return result


class Enforcer:
    """Holds every service's rules (defaults + file overrides) and checks them."""

    def __init__(self) -> None:
        self._text: dict[str, str] = {}
        self._rules: dict[str, Check] = {}
        self._overrides: dict[str, str] = {}

    def register_defaults(self, rules: Mapping[str, str]) -> None:
        for name, text in rules.items():
            if name not in self._overrides:
                self._set(name, text)

    def load_file(self, path: Path) -> None:
        raw = path.read_text()
        data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw) or {}
        for name, text in data.items():
            self._overrides[name] = text
            self._set(name, text)

    def _set(self, name: str, text: str) -> None:
        self._text[name] = text
        self._rules[name] = parse_rule(text)

    def rule_text(self, name: str) -> str | None:
        return self._text.get(name)

    def check(self, name: str, creds: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
        rule = self._rules.get(name)
        if rule is None:
            return False  # an unknown rule never grants anything
        # rules name target values "%(target.x)s" (oslo.policy's convention); "%(x)s" works too
        return rule(creds, {**target, "target": target}, self)

    def enforce(self, name: str, ctx: RequestContext, target: Mapping[str, Any] | None = None) -> None:
        if not ctx.authenticated:
            raise Unauthorized("The request you have made requires authentication.")
        if not self.check(name, ctx.policy_credentials(), target or {}):
            raise Forbidden(f"You are not authorized to perform the requested action: {name}.")

    def allowed(self, name: str, ctx: RequestContext, target: Mapping[str, Any] | None = None) -> bool:
        return ctx.authenticated and self.check(name, ctx.policy_credentials(), target or {})
