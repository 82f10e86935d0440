"""Server groups: a project's named affinity policy for the servers booted into it.

One policy per group (Nova's API showed a one-item "policies" list until 2.64); an
anti-affinity group may allow more than one member per host (rule max_server_per_host,
2.64+). Members are server uuids; the API shows only those whose servers are not
deleted. The scheduler reads the group of a boot from its "group" hint."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, NotFound
from pocketstack.core.ids import is_uuid

from ..models import ServerGroup, ServerGroupMember
from .quotas import check_quotas, live_members

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
MAX_PAGE_SIZE = 1000  # Nova's [api] max_limit


def _not_found(group_uuid: str) -> NotFound:
    return NotFound(f"Instance group {group_uuid} could not be found.")


def get_group(db: Session, group_uuid: str) -> ServerGroup:
    group = db.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid))
    if group is None:
        raise _not_found(group_uuid)
    return group


def list_groups(db: Session, project_id: str | None, *, offset: int = 0, limit: int = MAX_PAGE_SIZE) -> list[ServerGroup]:
    """A project's groups (every project's when project_id is None), oldest first."""
    query = select(ServerGroup).order_by(ServerGroup.id)
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    return list(db.scalars(query.offset(offset).limit(limit)))


def create_group(
    db: Session,
    settings: ComputeSettings,
    project_id: str,
    user_id: str,
    name: str,
    policy: str,
    rules: Mapping[str, Any] | None = None,
) -> ServerGroup:
    if policy not in POLICIES:
        raise BadRequest(f"Invalid input for field/attribute policy. Value: {policy}. {policy!r} is not one of {list(POLICIES)}")
    if rules and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    check_quotas(db, settings, project_id, user_id, {"server_groups": 1})
    group = ServerGroup(
        uuid=str(uuid.uuid4()),
        name=name,
        project_id=project_id,
        user_id=user_id,
        policy=policy,
        rules=dict(rules or {}),
        created_at=utcnow(),
    )
    db.add(group)
    db.flush()
    return group


def delete_group(db: Session, group: ServerGroup) -> None:
    db.delete(group)
    db.flush()


def members_of(db: Session, group: ServerGroup) -> list[str]:
    """What the API shows as members: servers of the group that are not deleted."""
    return live_members(db, group)


# -- for the scheduler and server create ---------------------------------------------------
def group_of_server_hints(db: Session, project_id: str | None, hints: Mapping[str, Any] | None) -> ServerGroup | None:
    """The server group a boot asks for with the "group" scheduler hint, or None.

    Nova's schema takes a UUID (or a list holding one); a malformed one is a 400, and so
    is a group that does not exist (Nova lists InstanceGroupNotFound among the 400s of
    server create). A group of another project does not exist for the caller unless
    project_id is None (an admin booting anywhere)."""
    if not hints or hints.get("group") is None:
        return None
    raw = hints["group"]
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, str) or not is_uuid(raw):
        raise BadRequest(f"Invalid input for field/attribute group. Value: {raw}. {raw!r} is not a 'uuid'")
    group = db.scalar(select(ServerGroup).where(ServerGroup.uuid == raw))
    if group is None or (project_id is not None and group.project_id != project_id):
        raise BadRequest(f"Instance group {raw} could not be found.")
    return group


def add_member(db: Session, settings: ComputeSettings, group: ServerGroup, server_uuid: str) -> None:
    """Put a server into its group, within the server_group_members quota of the
    group's project (403 "Quota exceeded, too many servers in group", as Nova)."""
    if server_uuid in {member.server_uuid for member in group.members}:
        return
    check_quotas(db, settings, group.project_id, group.user_id, {"server_group_members": 1}, group=group)
    group.members.append(ServerGroupMember(server_uuid=server_uuid))
    db.flush()


def groups_of_server(db: Session, server_uuid: str) -> list[str]:
    """The uuids of the groups a server is in (at most one: a boot names one group)."""
    query = (
        select(ServerGroup.uuid)
        .join(ServerGroupMember, ServerGroupMember.group_id == ServerGroup.id)
        .where(ServerGroupMember.server_uuid == server_uuid)
    )
    return list(db.scalars(query.order_by(ServerGroup.id)))


def remove_member(db: Session, server_uuid: str) -> None:
    """A deleted server leaves every group it was in."""
    for member in db.scalars(select(ServerGroupMember).where(ServerGroupMember.server_uuid == server_uuid)):
        db.delete(member)
    db.flush()
