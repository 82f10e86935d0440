"""os-instance-actions: every request that acts on a server is recorded with the
request id, and the agent adds the events of the work it does for it (start, finish,
result), so `openstack server event list` tells what happened and what failed."""

from __future__ import annotations

import traceback as tb

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import NotFound

from ..models import InstanceAction, InstanceActionEvent, Server


def record_action(db: Session, ctx: RequestContext, server: Server, action: str) -> InstanceAction:
    stamp = utcnow()
    entry = InstanceAction(
        server_uuid=server.uuid,
        action=action,
        request_id=ctx.request_id,
        user_id=ctx.user_id,
        project_id=ctx.project_id,
        start_time=stamp,
        updated_at=stamp,
    )
    db.add(entry)
    db.flush()
    return entry


def latest_action(db: Session, server_uuid: str) -> InstanceAction | None:
    return db.scalars(
        select(InstanceAction).where(InstanceAction.server_uuid == server_uuid).order_by(InstanceAction.id.desc()).limit(1)
    ).first()


def start_event(db: Session, server_uuid: str, event: str, host: str | None) -> InstanceActionEvent | None:
    """Open an event on the server's newest action (None if it has no action)."""
    action = latest_action(db, server_uuid)
    if action is None:
        return None
    stamp = utcnow()
    entry = InstanceActionEvent(action_id=action.id, event=event, start_time=stamp, host=host)
    db.add(entry)
    action.updated_at = stamp
    db.flush()
    return entry


def finish_event(db: Session, event_id: int | None, error: BaseException | None = None) -> None:
    if event_id is None:
        return
    entry = db.get(InstanceActionEvent, event_id)
    if entry is None:
        return
    stamp = utcnow()
    entry.finish_time = stamp
    entry.result = "Error" if error else "Success"
    if error is not None:
        entry.traceback = "".join(tb.format_exception(error))[-4000:]
        entry.details = str(error)[:255]
    action = db.get(InstanceAction, entry.action_id)
    if action is not None:
        action.updated_at = stamp
        action.finish_time = stamp
        if error is not None:
            action.message = "Error"


def list_actions(db: Session, server_uuid: str) -> list[InstanceAction]:
    return list(
        db.scalars(
            select(InstanceAction)
            .where(InstanceAction.server_uuid == server_uuid)
            .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
        )
    )


def get_action(db: Session, server_uuid: str, request_id: str) -> InstanceAction:
    action = db.scalars(
        select(InstanceAction).where(InstanceAction.server_uuid == server_uuid, InstanceAction.request_id == request_id)
    ).first()
    if action is None:
        raise NotFound(f"Action {request_id} not found")
    return action
