"""os-migrations: the resizes of servers as Nova's migration records show them, derived
from the instance-action log instead of a table of their own.

A resize is one "resize" action: its id is the migration's integer id, its start the
migration's creation, the host its agent event ran on both source and destination (a
resize happens in place here, as Nova's allow_resize_to_same_host). Its status follows
from that action's events and from the action that ended it:

    resize event running (or not started)          migrating (pre-migrating)
    resize event failed                            error
    resize done, nothing after it yet              finished        (VERIFY_RESIZE)
    a confirmResize after it: running / done       confirming / confirmed
    a revertResize after it: running / done        reverting / reverted
    the server deleted after it                    confirmed (Nova confirms on delete)

and any failed event of the ending action makes it "error". The flavors' integer ids
come from what the resize request kept in the server's system_metadata.

Cold and live migrations between hosts do not exist here yet, so none are listed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest

from ..models import ComputeNode, InstanceAction, Server
from .server_actions import MIGRATION_FLAVORS_KEY

# actions that end (or follow) a resize
ENDINGS = ("confirmResize", "revertResize", "resize", "delete")
# a stable uuid per migration, derived from its action
MIGRATION_NAMESPACE = uuid.UUID("5b4f4e52-6d1c-4c58-9f0e-6f3c2a6c7d10")


@dataclass
class Migration:
    id: int
    uuid: str
    server_uuid: str
    status: str
    source_compute: str | None
    source_node: str | None
    dest_compute: str | None
    dest_node: str | None
    dest_host: str | None
    old_flavor_id: int | None
    new_flavor_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    user_id: str | None
    project_id: str | None
    migration_type: str = "resize"


@dataclass
class MigrationQuery:
    """Nova's os-migrations filters (each None: not filtered)."""

    status: str | None = None
    host: str | None = None  # source or destination
    source_compute: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    user_id: str | None = None
    project_id: str | None = None
    hidden: bool | None = None


def migration_uuid(action: InstanceAction) -> str:
    return str(uuid.uuid5(MIGRATION_NAMESPACE, f"{action.server_uuid}/{action.id}"))


def list_migrations(db: Session, query: MigrationQuery) -> list[Migration]:
    """Every resize matching `query`, newest first (Nova's created_at desc, id desc)."""
    if query.migration_type not in (None, "resize") or query.hidden:
        return []  # no other kind of migration exists here; none is hidden
    resizes = select(InstanceAction).where(InstanceAction.action == "resize")
    if query.instance_uuid is not None:
        resizes = resizes.where(InstanceAction.server_uuid == query.instance_uuid)
    actions = list(db.scalars(resizes.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())))
    if not actions:
        return []
    server_uuids = {action.server_uuid for action in actions}
    servers = {server.uuid: server for server in db.scalars(select(Server).where(Server.uuid.in_(server_uuids)))}
    followers = _later_actions(db, server_uuids)
    nodes = {node.host: node for node in db.scalars(select(ComputeNode))}
    out = []
    for action in actions:
        server = servers.get(action.server_uuid)
        if server is None:
            continue
        migration = _migration(action, server, followers.get(server.uuid, []), nodes)
        if _matches(migration, query):
            out.append(migration)
    return out


def page_of(migrations: list[Migration], limit: int, marker: str | None) -> list[Migration]:
    """limit/marker paging (2.59+; the marker is a migration uuid, 400 if unknown)."""
    start = 0
    if marker is not None:
        index = next((i for i, m in enumerate(migrations) if m.uuid == marker), None)
        if index is None:
            raise BadRequest(f"Marker {marker[:60]} could not be found.")
        start = index + 1
    return migrations[start : start + limit]


def _later_actions(db: Session, server_uuids: Iterable[str]) -> dict[str, list[InstanceAction]]:
    query = select(InstanceAction).where(InstanceAction.server_uuid.in_(list(server_uuids)), InstanceAction.action.in_(ENDINGS))
    out: dict[str, list[InstanceAction]] = {}
    for action in db.scalars(query.order_by(InstanceAction.id)):
        out.setdefault(action.server_uuid, []).append(action)
    return out


def _migration(action: InstanceAction, server: Server, later: list[InstanceAction], nodes: dict[str, ComputeNode]) -> Migration:
    ending = next((a for a in later if a.id > action.id), None)
    host = next((event.host for event in action.events if event.host), None) or server.host
    node = nodes.get(host or "")
    flavors = (server.system_metadata.get(MIGRATION_FLAVORS_KEY) or {}).get(action.request_id) or [None, None]
    touched = [stamp for stamp in (action.updated_at, ending.updated_at if ending else None) if stamp is not None]
    return Migration(
        id=action.id,
        uuid=migration_uuid(action),
        server_uuid=server.uuid,
        status=_status(action, ending),
        source_compute=host,
        source_node=node.hypervisor_hostname if node else server.node,
        dest_compute=host,
        dest_node=node.hypervisor_hostname if node else server.node,
        dest_host=node.host_ip if node else None,
        old_flavor_id=flavors[0],
        new_flavor_id=flavors[1],
        created_at=action.start_time,
        updated_at=max(touched) if touched else None,
        user_id=action.user_id,
        project_id=action.project_id,
    )


def _status(resize: InstanceAction, ending: InstanceAction | None) -> str:
    resized = _outcome(resize)
    if resized == "error":
        return "error"
    if ending is None:
        return {"done": "finished", "running": "migrating", "waiting": "pre-migrating"}[resized]
    if ending.action in ("delete", "resize"):
        # deleting a resized server confirms the resize (Nova's _confirm_resize_on_deleting);
        # deleting it midway, or a newer resize after a failed one, ends it in error
        return "confirmed" if resized == "done" else "error"
    ended = _outcome(ending)
    if ended == "error":
        return "error"
    if ending.action == "confirmResize":
        return "confirmed" if ended == "done" else "confirming"
    return "reverted" if ended == "done" else "reverting"


def _outcome(action: InstanceAction) -> str:
    """ "error" if any of its events failed, "done" once they all finished, "running"
    while one is open, "waiting" before the agent started on it."""
    if any(event.result == "Error" for event in action.events):
        return "error"
    if not action.events:
        return "waiting"
    return "done" if all(event.finish_time is not None for event in action.events) else "running"


def _matches(migration: Migration, query: MigrationQuery) -> bool:
    if query.status is not None and migration.status != query.status:
        return False
    if query.host is not None and query.host not in (migration.source_compute, migration.dest_compute):
        return False
    if query.source_compute is not None and migration.source_compute != query.source_compute:
        return False
    changed = migration.updated_at or migration.created_at
    if query.changes_since is not None and changed < query.changes_since:
        return False
    if query.changes_before is not None and changed > query.changes_before:
        return False
    if query.user_id is not None and migration.user_id != query.user_id:
        return False
    return query.project_id is None or migration.project_id == query.project_id
