"""POST /servers/{id}/action: Nova's server actions, one small handler each, and the
instance-action log (os-instance-actions).

Every handler checks policy and the lock, then asks backend/server_actions.py to
check the state and hand the work to the agent (woken once the request commits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Conflict, NotFound, nova_fault

from ..backend import instance_actions
from ..backend import server_actions as actions
from ..backend import servers as backend
from ..models import Server
from ..schemas.servers import canonical_access_ip, check_hostname, check_metadata, decode_user_data
from ..views import servers as views
from .servers import get_server, groups_of, look, wake_agent

api = ApiRouter(nova_fault)

ActionHandler = Callable[[Call, Any], Any]
HANDLERS: dict[str, ActionHandler] = {}


def action(name: str, *, min_version: str | None = None, max_version: str | None = None) -> Callable[[ActionHandler], ActionHandler]:
    def register(handler: ActionHandler) -> ActionHandler:
        HANDLERS[name] = handler
        handler.min_version = min_version  # type: ignore[attr-defined]
        handler.max_version = max_version  # type: ignore[attr-defined]
        return handler

    return register


@api.route("POST", "/v2.1/servers/{server_id}/action", status=202)
def server_action(call: Call) -> Any:
    body = call.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("The action body must be an object naming exactly one action.")
    ((name, argument),) = body.items()
    handler = HANDLERS.get(name)
    if handler is None:
        raise BadRequest(f"There is no such action: {str(name)[:60]}")
    low, high = handler.min_version, handler.max_version  # type: ignore[attr-defined]
    if (low and not call.version >= low) or (high and call.version > high):
        raise NotFound("The resource could not be found.")  # Nova: an action outside its versions looks unimplemented
    result = handler(call, argument)
    if result is None:
        return Response(status_code=202)
    # actions that answer with a body (console output, rescue) answer 200, as Nova's
    return JSONResponse(result) if isinstance(result, dict) else result


def _simple(call: Call, rule: str, transition: str) -> None:
    server = get_server(call, rule, for_write=True)
    actions.begin(call.db, call.ctx, server, transition)
    wake_agent(call)


def _object(argument: Any, name: str) -> dict[str, Any]:
    if argument is None:
        return {}
    if not isinstance(argument, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {argument}. It is not an object.")
    return argument


# -- power ----------------------------------------------------------------------------------
@action("os-stop")
def stop(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:servers:stop", "stop")


@action("os-start")
def start(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:servers:start", "start")


@action("reboot")
def reboot(call: Call, argument: Any) -> None:
    kind = _object(argument, "reboot").get("type")
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise BadRequest(
            f"Invalid input for field/attribute type. Value: {kind}. '{kind}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"
        )
    _simple(call, "os_compute_api:servers:reboot", "reboot_hard" if kind.upper() == "HARD" else "reboot_soft")


@action("pause")
def pause(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:os-pause-server:pause", "pause")


@action("unpause")
def unpause(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:os-pause-server:unpause", "unpause")


@action("suspend")
def suspend(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:os-suspend-server:suspend", "suspend")


@action("resume")
def resume(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:os-suspend-server:resume", "resume")


# -- locks and admin state --------------------------------------------------------------------
@action("lock")
def lock(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-lock-server:lock")
    reason = _object(argument, "lock").get("locked_reason") if call.version >= "2.73" else None
    if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
        raise BadRequest("Invalid input for field/attribute locked_reason: a string of at most 255 characters")
    actions.lock(call.db, call.ctx, server, reason)


@action("unlock")
def unlock(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-lock-server:unlock")
    may_override = call.allowed("os_compute_api:os-lock-server:unlock:unlock_override", backend.policy_target(server))
    actions.unlock(call.db, call.ctx, server, may_override=may_override)


@action("os-resetState")
def reset_state(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-admin-actions:reset_state")
    actions.reset_state(call.db, call.ctx, server, _object(argument, "os-resetState").get("state"))


@action("injectNetworkInfo")
def inject_network_info(call: Call, argument: Any) -> None:
    """Nova hands this to the hypervisor driver; for QEMU guests (as for libvirt's) there is
    nothing to inject: a guest reads its network from DHCP and the metadata service, which
    always tell the ports as they are now."""
    server = get_server(call, "os_compute_api:os-admin-actions:inject_network_info", for_write=True)
    if not server.host:
        raise Conflict(f"Instance {server.uuid} is not ready yet: it is on no host.")


@action("forceDelete")
def force_delete(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-deferred-delete:force", for_write=True)
    if backend.delete_server(call.db, call.ctx, server, force=True):
        wake_agent(call)


@action("restore")
def restore(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-deferred-delete:restore")
    # deletes here are never deferred (Nova's reclaim_instance_interval = 0)
    raise Conflict(f"Cannot 'restore' instance {server.uuid} while it is in vm_state {server.vm_state}")


# -- images, rebuild, resize -------------------------------------------------------------------
@action("createImage")
def create_image(call: Call, argument: Any) -> Any:
    # Nova checks no lock for snapshots: a lock guards against changes, a snapshot makes none
    server = get_server(call, "os_compute_api:servers:create_image")
    spec = _object(argument, "createImage")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute name: a non-blank string of at most 255 characters is required")
    metadata = spec.get("metadata") or {}
    try:
        check_metadata(metadata)
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute metadata: {exc}") from None
    image_id = actions.create_image(call.db, call.ctx, server, name, metadata)
    wake_agent(call)
    location = call.url(f"/images/{image_id}")
    if call.version >= "2.45":
        return _json_202({"image_id": image_id}, location)
    return Response(status_code=202, headers={"Location": location})


@action("createBackup")
def create_backup(call: Call, argument: Any) -> Any:
    # Nova checks no lock for backups (nor for snapshots): a lock guards against changes
    server = get_server(call, "os_compute_api:os-create-backup")
    spec = _object(argument, "createBackup")
    unknown = sorted(set(spec) - {"name", "backup_type", "rotation", "metadata"})
    if unknown:
        raise BadRequest(
            f"Invalid input for field/attribute createBackup. Additional properties are not allowed ({', '.join(repr(u) for u in unknown)[:200]} unexpected)"
        )
    for required in ("name", "backup_type", "rotation"):
        if required not in spec:
            raise BadRequest(f"Invalid input for field/attribute createBackup. '{required}' is a required property")
    name, backup_type = spec["name"], spec["backup_type"]
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute name: a non-blank string of at most 255 characters is required")
    if not isinstance(backup_type, str):
        raise BadRequest(f"Invalid input for field/attribute backup_type. Value: {backup_type}. It is not a string.")
    rotation = _non_negative_integer(spec["rotation"], "rotation")
    metadata = spec.get("metadata") or {}
    try:
        check_metadata(metadata)
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute metadata: {exc}") from None
    image_id = actions.create_backup(call.db, call.ctx, server, name.strip(), backup_type, rotation, metadata)
    wake_agent(call)
    if call.version >= "2.45":
        return _json_202({"image_id": image_id})
    # before 2.45 the answer is empty, with the image's URL unless rotation 0 deletes it
    headers = {"Location": call.url(f"/images/{image_id}")} if rotation > 0 else None
    return Response(status_code=202, headers=headers)


def _non_negative_integer(value: Any, name: str) -> int:
    """Nova's non_negative_integer: an integer or a string of digits, 0 or more."""
    well_formed = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.strip().isdigit())
    if not well_formed or int(value) < 0:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. It is not a non-negative integer.")
    return int(value)


def _json_202(body: dict[str, Any], location: str | None = None) -> Response:
    return JSONResponse(body, status_code=202, headers={"Location": location} if location else None)


# rebuild's fields beyond Nova's 2.1 schema, with the microversion that brought each
REBUILD_FIELDS_SINCE = {
    "description": "2.19",
    "key_name": "2.54",
    "user_data": "2.57",
    "trusted_image_certificates": "2.63",
    "hostname": "2.90",
}
REBUILD_BASE_FIELDS = {"imageRef", "name", "adminPass", "metadata", "preserve_ephemeral", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"}


@action("rebuild")
def rebuild(call: Call, argument: Any) -> Any:
    server = get_server(call, "os_compute_api:servers:rebuild", for_write=True)
    spec = _object(argument, "rebuild")
    _refuse_unknown_rebuild_fields(call, spec)
    image_ref = spec.get("imageRef")
    if not isinstance(image_ref, str) or not image_ref:
        raise BadRequest("Invalid input for field/attribute rebuild. 'imageRef' is a required property")
    admin_pass = spec.get("adminPass")
    if admin_pass is not None and not isinstance(admin_pass, str):
        raise BadRequest(f"Invalid input for field/attribute adminPass. Value: {admin_pass}. It is not a string.")
    changes = _rebuild_changes(call, spec)
    actions.rebuild(call.db, call.ctx, server, image_ref, changes)
    backend.set_disk_config(server, spec.get("OS-DCF:diskConfig"))
    if "metadata" in spec:
        backend.set_metadata(call.db, call.cloud.settings.compute, call.ctx, server, spec["metadata"], replace=True)
    wake_agent(call)
    return _json_202({"server": look(call).rebuilt(server, groups_of(call, server), admin_pass or backend.new_password())})


def _refuse_unknown_rebuild_fields(call: Call, spec: dict[str, Any]) -> None:
    known = set(REBUILD_BASE_FIELDS) | {name for name, since in REBUILD_FIELDS_SINCE.items() if call.version >= since}
    if not call.version >= "2.57":
        known.add("personality")
    unknown = sorted(set(spec) - known)
    if unknown:
        raise BadRequest(
            f"Invalid input for field/attribute rebuild. Additional properties are not allowed ({', '.join(repr(u) for u in unknown)[:200]} unexpected)"
        )


def _rebuild_changes(call: Call, spec: dict[str, Any]) -> dict[str, Any]:
    """The server columns a rebuild changes besides its image, each checked as Nova's
    rebuild schema checks it."""
    changes: dict[str, Any] = {}
    if "name" in spec:
        if not isinstance(spec["name"], str) or not spec["name"].strip() or len(spec["name"]) > 255:
            raise BadRequest("Invalid input for field/attribute name: a non-blank string of at most 255 characters is required")
        changes["name"] = spec["name"]
    if "metadata" in spec:
        try:
            check_metadata(spec["metadata"])
        except ValueError as exc:
            raise BadRequest(f"Invalid input for field/attribute metadata: {exc}") from None
    for field, column in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if field in spec:
            try:
                changes[column] = canonical_access_ip(spec[field], field) or None
            except (ValueError, TypeError) as exc:
                raise BadRequest(f"Invalid input for field/attribute {field}: {exc}") from None
    if "description" in spec:
        description = spec["description"]
        if description is not None and (not isinstance(description, str) or len(description) > 255):
            raise BadRequest("Invalid input for field/attribute description: a string of at most 255 characters or null is required")
        changes["description"] = description
    if "user_data" in spec:
        changes["user_data"] = _user_data(spec["user_data"])
    if "key_name" in spec:
        changes.update(_key_change(call, spec["key_name"]))
    if "hostname" in spec:
        check_hostname(spec["hostname"], call.version)
        changes["hostname"] = spec["hostname"]
    return changes


def _user_data(value: Any) -> str | None:
    """New user data (base64, as at create) or None to remove it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute user_data. Value: {value}. It is not a string.")
    try:
        decode_user_data(value)
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute user_data: {exc}") from None
    return value


def _key_change(call: Call, key_name: Any) -> dict[str, Any]:
    if key_name is None:
        return {"key_name": None, "key_data": None}
    from ..backend.keypairs import get_keypair

    try:
        key = get_keypair(call.db, call.ctx.user_id or "", str(key_name))
    except NotFound:
        raise BadRequest("Invalid key_name provided.") from None
    return {"key_name": key.name, "key_data": key.public_key}


@action("resize")
def resize(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:servers:resize", for_write=True)
    request = _object(argument, "resize")
    flavor_ref = request.get("flavorRef")
    if flavor_ref is None or isinstance(flavor_ref, (dict, list, bool)):
        raise BadRequest("Invalid input for field/attribute resize. 'flavorRef' is a required property")
    backend.set_disk_config(server, request.get("OS-DCF:diskConfig"))
    actions.resize(call.db, call.ctx, call.cloud.settings.compute, server, str(flavor_ref))
    wake_agent(call)


@action("confirmResize")
def confirm_resize(call: Call, argument: Any) -> Response:
    _simple(call, "os_compute_api:servers:confirm_resize", "confirmResize")
    return Response(status_code=204)


@action("revertResize")
def revert_resize(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:servers:revert_resize", "revertResize")


# -- rescue and shelve ---------------------------------------------------------------------------
@action("rescue")
def rescue(call: Call, argument: Any) -> Any:
    server = get_server(call, "os_compute_api:os-rescue", for_write=True)
    spec = _object(argument, "rescue")
    image_ref = spec.get("rescue_image_ref")
    actions.rescue(call.db, call.ctx, server, image_ref)
    wake_agent(call)
    return {"adminPass": spec.get("adminPass") or backend.new_password()}


@action("unrescue")
def unrescue(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:os-unrescue", "unrescue")


@action("shelve")
def shelve(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-shelve:shelve", for_write=True)
    actions.shelve(call.db, call.ctx, server)
    wake_agent(call)


@action("shelveOffload")
def shelve_offload(call: Call, argument: Any) -> None:
    _simple(call, "os_compute_api:os-shelve:shelve_offload", "shelveOffload")


@action("unshelve")
def unshelve(call: Call, argument: Any) -> None:
    server = get_server(call, "os_compute_api:os-shelve:unshelve", for_write=True)
    zone = None
    if isinstance(argument, dict) and call.version >= "2.77":
        zone = argument.get("availability_zone")
    actions.unshelve(call.db, call.ctx, call.cloud.settings.compute, server, zone)
    wake_agent(call)


# -- consoles ---------------------------------------------------------------------------------------
@action("os-getConsoleOutput")
def console_output(call: Call, argument: Any) -> dict[str, Any]:
    server = get_server(call, "os_compute_api:os-console-output")
    length = _object(argument, "os-getConsoleOutput").get("length")
    if length is not None:
        try:
            length = int(length)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid input for field/attribute length. Value: {length}. It is not an integer.") from None
        if length < -1:
            raise BadRequest(f"Invalid input for field/attribute length. Value: {length}. It is less than the minimum of -1.")
        if length == -1:
            length = None
    return {"output": call.cloud.compute.console_output(server, length)}


# -- os-instance-actions -------------------------------------------------------------------------
@api.route("GET", "/v2.1/servers/{server_id}/os-instance-actions")
def list_instance_actions(call: Call) -> dict[str, Any]:
    server = _server_with_deleted(call, "os_compute_api:os-instance-actions:list")
    entries = instance_actions.list_actions(call.db, server.uuid)
    return {"instanceActions": [views.instance_action(a, with_events=False, show_details=False, version=call.version) for a in entries]}


@api.route("GET", "/v2.1/servers/{server_id}/os-instance-actions/{request_id}")
def show_instance_action(call: Call) -> dict[str, Any]:
    server = _server_with_deleted(call, "os_compute_api:os-instance-actions:show")
    entry = instance_actions.get_action(call.db, server.uuid, call.params["request_id"])
    target = backend.policy_target(server)
    with_events = call.allowed("os_compute_api:os-instance-actions:events", target) or call.version >= "2.51"
    show_details = call.allowed("os_compute_api:os-instance-actions:events:details", target)
    return {"instanceAction": views.instance_action(entry, with_events=with_events, show_details=show_details, version=call.version)}


def _server_with_deleted(call: Call, rule: str) -> Server:
    # Nova reads the actions of deleted servers too (2.21+)
    server = backend.get_server(call.db, call.ctx, call.params["server_id"], include_deleted=call.version >= "2.21")
    call.authorize(rule, backend.policy_target(server))
    return server
