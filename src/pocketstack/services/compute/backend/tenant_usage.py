"""os-simple-tenant-usage: what servers a project ran during a period, in hours and in
flavor-sized resource-hours (Nova's simple_tenant_usage.py).

A server counts from launch (a server never launched costs nothing) until it was
terminated or the period ends; deleted servers count for the time they ran. Servers
are read in (project, uuid) order, which paging (2.40+) follows with the uuid as marker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest

from ..models import Server

# the forms Nova parses start and end in (no zone: UTC)
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class ServerUsage:
    server: Server
    hours: float
    started_at: dt.datetime
    ended_at: dt.datetime | None
    uptime: int  # seconds, to now or to the end

    @property
    def state(self) -> str:
        return "terminated" if self.ended_at is not None else self.server.vm_state

    @property
    def local_gb(self) -> int:
        return self.server.root_gb + self.server.ephemeral_gb


@dataclass
class ProjectUsage:
    project_id: str
    start: dt.datetime
    stop: dt.datetime
    servers: list[ServerUsage] = field(default_factory=list)

    @property
    def total_hours(self) -> float:
        return sum(item.hours for item in self.servers)

    def total(self, attribute: str) -> float:
        return sum(getattr(item.server, attribute) * item.hours for item in self.servers)

    @property
    def total_local_gb_usage(self) -> float:
        return sum(item.local_gb * item.hours for item in self.servers)


def parse_time(raw: str | None) -> dt.datetime:
    """A period bound as Nova reads it: absent is now; a zone-less time is UTC."""
    if not raw:
        return utcnow()
    for form in TIME_FORMATS:
        try:
            value = dt.datetime.strptime(raw, form)
            break
        except ValueError:
            continue
    else:
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise BadRequest("Invalid datetime string: Datetime is in invalid format") from None
    return value.replace(tzinfo=dt.timezone.utc) if value.utcoffset() is None else value.astimezone(dt.timezone.utc)


def period(start_raw: str | None, end_raw: str | None) -> tuple[dt.datetime, dt.datetime]:
    start, stop = parse_time(start_raw), parse_time(end_raw)
    if not start < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    # nothing has run after now
    return start, min(stop, utcnow())


def _ended(server: Server) -> dt.datetime | None:
    if server.terminated_at is not None:
        return server.terminated_at
    return server.deleted_at if server.deleted else None


def hours_in(server: Server, start: dt.datetime, stop: dt.datetime) -> float:
    """Hours the server ran inside [start, stop]."""
    launched, ended = server.launched_at, _ended(server)
    if launched is None or launched > stop or (ended is not None and ended < start):
        return 0.0
    running_until = min(stop, ended) if ended is not None else stop
    return (running_until - max(launched, start)).total_seconds() / 3600.0


def servers_in(
    db: Session, start: dt.datetime, stop: dt.datetime, project_id: str | None, *, limit: int, marker: str | None
) -> list[Server]:
    """Servers launched before `stop` that had not ended by `start`, deleted ones included."""
    ended = func.coalesce(Server.terminated_at, case((Server.deleted.is_(True), Server.deleted_at), else_=None))
    query = select(Server).where(Server.launched_at.is_not(None), Server.launched_at < stop, or_(ended.is_(None), ended > start))
    if project_id is not None:
        query = query.where(Server.project_id == project_id)
    if marker is not None:
        after = db.scalar(select(Server).where(Server.uuid == marker))
        if after is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(
            or_(Server.project_id > after.project_id, and_(Server.project_id == after.project_id, Server.uuid > after.uuid))
        )
    return list(db.scalars(query.order_by(Server.project_id, Server.uuid).limit(limit)))


def usage(
    db: Session, start: dt.datetime, stop: dt.datetime, project_id: str | None, *, limit: int, marker: str | None
) -> list[ProjectUsage]:
    """Per project, in the order of its servers."""
    now = utcnow()
    projects: dict[str, ProjectUsage] = {}
    for server in servers_in(db, start, stop, project_id, limit=limit, marker=marker):
        assert server.launched_at is not None
        ended = _ended(server)
        item = ServerUsage(
            server=server,
            hours=hours_in(server, start, stop),
            started_at=server.launched_at,
            ended_at=ended,
            uptime=int(((ended or now) - server.launched_at).total_seconds()),
        )
        projects.setdefault(server.project_id, ProjectUsage(server.project_id, start, stop)).servers.append(item)
    return list(projects.values())
