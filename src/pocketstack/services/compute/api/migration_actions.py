"""What an admin may do to a server's live migration in progress (admins only by default):

DELETE /v2.1/servers/{id}/migrations/{mid}              abort it (2.24+)
POST   /v2.1/servers/{id}/migrations/{mid}/action       {"force_complete": null} (2.22+)

Nova asks the server to be in a live migration (task_state "migrating") before it looks
at the migration; this cloud has one host and never live-migrates, so a server is never
in that state and both answer as Nova does then: 409 naming the state the server is in
(after the 404 for an unknown server, the 403 of policy and the lock)."""

from __future__ import annotations

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Conflict, NotFound, nova_fault

from .. import states
from ..models import Server
from .removed import peek_action
from .servers import get_server

api = ApiRouter(nova_fault)

MIGRATING = "migrating"  # Nova's task state for a live migration
MIGRATION = "/v2.1/servers/{server_id}/migrations/{migration_id}"


@api.route("DELETE", MIGRATION, status=202, min_version="2.24")
def abort_live_migration(call: Call) -> None:
    server = get_server(call, "os_compute_api:servers:migrations:delete")
    if _locked_for(call, server):
        # Nova's lock error is a kind of invalid state, and abort words it as one
        raise Conflict(f"Instance {server.uuid} is in an invalid state for 'abort live migration'")
    states.check_state(server, "abort live migration", None, {MIGRATING})
    # past this point Nova looks the migration up; none is ever in progress here
    raise NotFound(_no_such_migration(call, server))


@api.route("POST", MIGRATION + "/action", status=202, min_version="2.22")
def migration_action(call: Call) -> None:
    name, argument = peek_action(call)
    if name != "force_complete":
        raise BadRequest(f"There is no such action: {name[:60]}")
    if argument is not None:
        # Nova's schema: {"force_complete": null}
        raise BadRequest(f"Invalid input for field/attribute force_complete. Value: {argument}. {argument!r} is not of type 'null'")
    server = get_server(call, "os_compute_api:servers:migrations:force_complete")
    if _locked_for(call, server):
        raise Conflict(f"Instance {server.uuid} is locked")
    states.check_state(server, "force_complete", {states.ACTIVE}, {MIGRATING})
    raise BadRequest(_no_such_migration(call, server))  # force_complete reports it as a 400


def _locked_for(call: Call, server: Server) -> bool:
    """Nova's check_instance_lock: a locked server refuses anyone but an admin."""
    return bool(server.locked) and not call.ctx.is_admin


def _no_such_migration(call: Call, server: Server) -> str:
    return f"Migration {call.params['migration_id'][:60]} not found for instance {server.uuid}"
