"""Small helpers every identity backend module uses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict, NotFound

from ..models import ROOT_DOMAIN, Project

T = TypeVar("T")


DEFAULT_DOMAIN_ID = "default"


def default_domain_id(ctx: RequestContext) -> str:
    """Where a project, user or group lands when the body names no domain (Keystone's
    rule): the domain of a domain-scoped token, else the default domain."""
    return ctx.domain_id or DEFAULT_DOMAIN_ID


def new_id() -> str:
    return uuid.uuid4().hex


def get_or_404(db: Session, model: type[T], ident: str, what: str) -> T:
    row = db.get(model, ident)
    if row is None:
        raise NotFound(f"Could not find {what}: {ident}.")
    return row


def get_domain(db: Session, domain_id: str) -> Project:
    row = db.get(Project, domain_id)
    if row is None or not row.is_domain:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return row


def find_domain_by_name(db: Session, name: str) -> Project:
    row = db.scalars(select(Project).where(Project.name == name, Project.domain_id == ROOT_DOMAIN)).first()
    if row is None:
        raise NotFound(f"Could not find domain: {name}.")
    return row


def get_project(db: Session, project_id: str) -> Project:
    row = db.get(Project, project_id)
    if row is None or row.is_domain:
        raise NotFound(f"Could not find project: {project_id}.")
    return row


def check_name_free(db: Session, model: Any, domain_id: str, name: str, message: str, exclude: str | None = None) -> None:
    """409 with `message` when another row of `model` in the domain has the name (the
    unique key catches races; this gives the clear message first)."""
    clash = db.scalars(select(model.id).where(model.domain_id == domain_id, model.name == name)).first()
    if clash and clash != exclude:
        raise Conflict(message)


def refuse_changes(body: BaseModel, row: Any, what: str, *fixed: str) -> None:
    """Keystone answers 400 when an update gives a fixed attribute (the id, and `fixed`)
    a new value; repeating the current value is fine."""
    given = {**(body.model_extra or {}), **{name: getattr(body, name) for name in body.model_fields_set}}
    for name in ("id", *fixed):
        if name in given and given[name] != getattr(row, name):
            raise BadRequest(f"Cannot change the {name} of {what} {row.id}.")


def split_extra(data: dict[str, Any], known: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keystone keeps unknown attributes of an entity in `extra` and returns them."""
    core = {k: v for k, v in data.items() if k in known}
    extra = {k: v for k, v in data.items() if k not in known}
    return core, extra


def parse_expiry(value: str) -> dt.datetime:
    """Keystone's parse_expiration_date: an ISO 8601 time (UTC unless it says otherwise)
    that is still in the future; anything else is a 400."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"Invalid input for field 'expires_at': {value!r} is not an ISO 8601 timestamp.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    if when <= utcnow():
        raise BadRequest("The 'expires_at' time must be in the future.")
    return when.astimezone(dt.timezone.utc)
