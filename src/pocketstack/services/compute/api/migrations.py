"""Migrations (admins): os-migrations, a server's in-progress live migrations, and the
migrate action.

GET /v2.1/os-migrations                          every resize, newest first; Nova's filters
                                                 (paging and changes-since 2.59,
                                                 changes-before 2.66, user/project 2.80)
GET /v2.1/servers/{id}/migrations[/{mid}]        live migrations in progress (2.23+)
POST /v2.1/servers/{id}/action {"migrate": ...}  cold migration to another host

Resizes happen on the server's own host; moving a server between hosts (cold or live
migration) is not implemented yet, so the per-server lists are empty and migrate
answers as Nova does when no other host may take the server."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, NotFound, NotImplementedFault, nova_fault

from .. import states
from ..backend import migrations as backend
from ..backend import servers as servers_backend
from ..backend.hosts import COMPUTE_BINARY, is_up
from ..models import ComputeServiceRecord
from ..views.servers import usage_timestamp
from .server_actions import action
from .servers import get_server

api = ApiRouter(nova_fault)

MAX_PAGE_SIZE = 1000  # Nova's [api] max_limit
FILTERS_V20 = {"hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"}


# -- os-migrations --------------------------------------------------------------------------
@api.route("GET", "/v2.1/os-migrations")
def list_migrations(call: Call) -> dict[str, Any]:
    call.authorize("os_compute_api:os-migrations:index", {"project_id": call.ctx.project_id})
    query = _query(call)
    found = backend.list_migrations(call.db, query)
    if not call.version >= "2.59":
        return {"migrations": [_view(call, m) for m in found]}
    limit = _limit(call)
    page = backend.page_of(found, limit, call.query.get("marker"))
    body: dict[str, Any] = {"migrations": [_view(call, m) for m in page]}
    if page and len(page) == limit:
        params = {**dict(call.query), "limit": str(limit), "marker": page[-1].uuid}
        body["migrations_links"] = [{"rel": "next", "href": f"{call.url('/v2.1/os-migrations')}?{urlencode(params)}"}]
    return body


def _query(call: Call) -> backend.MigrationQuery:
    params = call.query
    known = set(FILTERS_V20)
    if call.version >= "2.59":
        known |= {"limit", "marker", "changes-since"}
        if call.version >= "2.66":
            known.add("changes-before")
        if call.version >= "2.80":
            known |= {"user_id", "project_id"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise BadRequest(
                f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)[:200]} unexpected)"
            )
    query = backend.MigrationQuery(
        status=params.get("status"),
        host=params.get("host"),
        source_compute=params.get("source_compute"),
        instance_uuid=params.get("instance_uuid"),
        migration_type=params.get("migration_type"),
    )
    if params.get("hidden") is not None:
        query.hidden = params["hidden"].strip().lower() in ("1", "true", "yes", "on", "t", "y")
    if call.version >= "2.59":
        query.changes_since = _time(params.get("changes-since"), "changes-since")
    if call.version >= "2.66":
        query.changes_before = _time(params.get("changes-before"), "changes-before")
        if query.changes_since and query.changes_before and query.changes_before < query.changes_since:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if call.version >= "2.80":
        query.user_id, query.project_id = params.get("user_id"), params.get("project_id")
    return query


def _time(raw: str | None, name: str) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw[:60]}. It is not a 'date-time'") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _limit(call: Call) -> int:
    raw = call.query.get("limit")
    if raw is None:
        return MAX_PAGE_SIZE
    if not (raw.isascii() and raw.strip().isdigit()):
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw[:40]}. It is not a non-negative integer.")
    return min(int(raw), MAX_PAGE_SIZE)


def _view(call: Call, migration: backend.Migration) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": migration.id,
        "status": migration.status,
        "instance_uuid": migration.server_uuid,
        "source_compute": migration.source_compute,
        "source_node": migration.source_node,
        "dest_compute": migration.dest_compute,
        "dest_node": migration.dest_node,
        "dest_host": migration.dest_host,
        "old_instance_type_id": migration.old_flavor_id,
        "new_instance_type_id": migration.new_flavor_id,
        "created_at": usage_timestamp(migration.created_at),
        "updated_at": usage_timestamp(migration.updated_at),
    }
    if call.version >= "2.23":
        out["migration_type"] = migration.migration_type  # links only for live migrations
    if call.version >= "2.59":
        out["uuid"] = migration.uuid
    if call.version >= "2.80":
        out["user_id"] = migration.user_id
        out["project_id"] = migration.project_id
    return out


# -- a server's live migrations (none run here) ------------------------------------------------
@api.route("GET", "/v2.1/servers/{server_id}/migrations", min_version="2.23")
def list_server_migrations(call: Call) -> dict[str, Any]:
    get_server(call, "os_compute_api:servers:migrations:index")
    return {"migrations": []}


@api.route("GET", "/v2.1/servers/{server_id}/migrations/{migration_id}", min_version="2.23")
def show_server_migration(call: Call) -> dict[str, Any]:
    server = get_server(call, "os_compute_api:servers:migrations:show")
    raise NotFound(f"Migration {call.params['migration_id'][:60]} for instance {server.uuid} not found.")


# -- the migrate action -------------------------------------------------------------------------
@action("migrate")
def migrate(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-migrate-server:migrate", for_write=True)
    if argument is not None and not isinstance(argument, dict):
        raise BadRequest(f"Invalid input for field/attribute migrate. Value: {argument}. It is not an object.")
    host = (argument or {}).get("host") if call.version >= "2.56" else None
    if host is not None:
        call.authorize("os_compute_api:os-migrate-server:migrate:host", servers_backend.policy_target(server))
    states.check_state(server, "migrate", {states.ACTIVE, states.STOPPED})
    others = _other_compute_hosts(call, server.host)
    if host is not None and host not in others:
        if host == server.host:
            raise BadRequest(f"The source and destination compute hosts are the same: {host}")
        raise NotFound(f"Compute host {host} could not be found.")
    if not others:
        # Nova's answer when the scheduler finds no other host for the server
        raise BadRequest("No valid host was found. No valid host found for cold migrate")
    raise NotImplementedFault("Moving a server to another compute host (cold migration) is not supported by this cloud yet.")


def _other_compute_hosts(call: Call, own_host: str | None) -> set[str]:
    """Enabled compute hosts that are up, other than the server's."""
    down_time = call.cloud.settings.compute.service_down_time
    query = select(ComputeServiceRecord).where(ComputeServiceRecord.binary == COMPUTE_BINARY, ComputeServiceRecord.disabled.is_(False))
    return {service.host for service in call.db.scalars(query) if service.host != own_host and is_up(service, down_time)}
