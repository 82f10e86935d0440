"""Server actions (POST /servers/{id}/action): each one checks the states Nova accepts
it in (409 otherwise), records an instance action, and sets the task_state the agent
acts on. Nothing here touches a hypervisor: the agent finishes the work and clears
task_state, or sets ERROR with a fault.

Every state-changing action is described by one `Transition` row; the few that need
more (snapshots, rebuild, resize, rescue, shelve) add their task_args on top."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict

from .. import images, states
from ..models import ComputeNode, Flavor, Server
from . import instance_actions, scheduler
from .aggregates import availability_zone_of_host
from .quotas import check_quotas
from .servers import REQUESTED_ZONE_KEY, check_image_fits, flavor_for_ref, flavor_snapshot

S = states
# system_metadata: {resize request id: [old flavor id, new flavor id]} (see os-migrations)
MIGRATION_FLAVORS_KEY = "migration_flavor_ids"


@dataclass(frozen=True)
class Transition:
    action: str  # the instance-action name (what `openstack server event list` shows)
    vm_states: frozenset[str] | None  # where the action may start (None: anywhere)
    task_state: str | None  # what the agent is asked to do
    task_states: frozenset[str | None] = frozenset({None})  # tasks it may interrupt


def _t(action: str, vm_states: set[str] | None, task: str | None, tasks: set[str | None] | None = None) -> Transition:
    return Transition(action, None if vm_states is None else frozenset(vm_states), task, frozenset(tasks or {None}))


TRANSITIONS: dict[str, Transition] = {
    "stop": _t("stop", {S.ACTIVE, S.ERROR}, S.POWERING_OFF),
    "start": _t("start", {S.STOPPED}, S.POWERING_ON),
    "pause": _t("pause", {S.ACTIVE}, S.PAUSING),
    "unpause": _t("unpause", {S.PAUSED}, S.UNPAUSING),
    "suspend": _t("suspend", {S.ACTIVE}, S.SUSPENDING),
    "resume": _t("resume", {S.SUSPENDED}, S.RESUMING),
    "reboot_soft": _t("reboot", {S.ACTIVE}, S.REBOOTING),
    # a hard reboot may cut short a soft one that hangs (Nova allows the same)
    "reboot_hard": _t("reboot", {S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.ERROR}, S.REBOOTING_HARD, {None, S.REBOOTING}),
    "rebuild": _t("rebuild", {S.ACTIVE, S.STOPPED, S.ERROR}, S.REBUILDING),
    "resize": _t("resize", {S.ACTIVE, S.STOPPED}, S.RESIZE_PREP),
    "confirmResize": _t("confirmResize", {S.RESIZED}, S.RESIZE_CONFIRMING),
    "revertResize": _t("revertResize", {S.RESIZED}, S.RESIZE_REVERTING),
    "createImage": _t("createImage", {S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED}, S.IMAGE_SNAPSHOT),
    # a backup is a snapshot the agent takes the same way (Nova's task is image_backup)
    "createBackup": _t("createBackup", {S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED}, S.IMAGE_SNAPSHOT),
    "rescue": _t("rescue", {S.ACTIVE, S.STOPPED, S.ERROR}, S.RESCUING),
    "unrescue": _t("unrescue", {S.RESCUED}, S.UNRESCUING),
    "shelve": _t("shelve", {S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED}, S.SHELVING),
    "shelveOffload": _t("shelveOffload", {S.SHELVED}, S.SHELVING_OFFLOADING),
    "unshelve": _t("unshelve", {S.SHELVED, S.SHELVED_OFFLOADED}, S.UNSHELVING),
}


def begin(db: Session, ctx: RequestContext, server: Server, name: str, args: dict[str, Any] | None = None) -> None:
    """Check the server may take action `name` now and hand it to the agent."""
    transition = TRANSITIONS[name]
    action = transition.action if not name.startswith("reboot") else "reboot"
    states.check_state(server, action, transition.vm_states, transition.task_states)
    instance_actions.record_action(db, ctx, server, transition.action)
    server.task_state = transition.task_state
    server.task_args = args or None
    server.updated_at = utcnow()


# -- actions that need more than a state change ------------------------------------
def create_image(db: Session, ctx: RequestContext, server: Server, name: str, metadata: dict[str, str]) -> str:
    """Nova's snapshot: a queued image now (its id is the answer), the data once the agent
    has copied the disk. The image carries the server's image properties, as Nova's do."""
    states.check_state(server, "createImage", TRANSITIONS["createImage"].vm_states)
    properties = _snapshot_properties(ctx, server, metadata, "snapshot")
    image_id = images.create_snapshot_image(db, ctx, name, properties, min_disk=server.root_gb, min_ram=0)
    begin(db, ctx, server, "createImage", {"image_id": image_id})
    return image_id


def create_backup(
    db: Session, ctx: RequestContext, server: Server, name: str, backup_type: str, rotation: int, metadata: dict[str, str]
) -> str:
    """Nova's createBackup: a snapshot marked image_type=backup with its backup_type; once
    its data is in, the oldest backups of that type beyond `rotation` are deleted (see
    images.fill_snapshot_image, which reads the rotation from task_args)."""
    states.check_state(server, "createBackup", TRANSITIONS["createBackup"].vm_states)
    if not server.image_ref:
        raise BadRequest("Backup is not supported for volume-backed instances.")
    properties = _snapshot_properties(ctx, server, {**metadata, "backup_type": backup_type}, "backup")
    image_id = images.create_snapshot_image(db, ctx, name, properties, min_disk=server.root_gb, min_ram=0)
    begin(db, ctx, server, "createBackup", {"image_id": image_id, "backup_type": backup_type, "rotation": rotation})
    return image_id


def _snapshot_properties(ctx: RequestContext, server: Server, metadata: dict[str, str], image_type: str) -> dict[str, str]:
    inherited = {
        k.removeprefix("image_"): v
        for k, v in server.system_metadata.items()
        if k.startswith("image_") and k not in ("image_disk_format", "image_name")
    }
    properties = {
        **inherited,
        "image_type": image_type,
        "instance_uuid": server.uuid,
        "base_image_ref": server.image_ref,
        "owner_user_name": ctx.user_name or "",
        "user_id": ctx.user_id or "",
        **metadata,  # the caller's metadata wins, as in Nova (properties.update(extra_properties))
    }
    return {k: str(v) for k, v in properties.items()}


def rebuild(db: Session, ctx: RequestContext, server: Server, image_ref: str, changes: dict[str, Any]) -> None:
    states.check_state(server, "rebuild", TRANSITIONS["rebuild"].vm_states)
    image = images.find_boot_image(db, ctx, image_ref)
    flavor_like = _FlavorView(server)
    check_image_fits(flavor_like, image, is_admin=True)  # type: ignore[arg-type]
    for field, value in changes.items():
        setattr(server, field, value)
    was_stopped = server.vm_state == S.STOPPED
    begin(db, ctx, server, "rebuild", {"image_id": image.id, "was_stopped": was_stopped})
    server.image_ref = image.id
    server.system_metadata = (
        {k: v for k, v in server.system_metadata.items() if not k.startswith("image_")}
        | {f"image_{k}": v for k, v in image.properties.items()}
        | {"image_disk_format": image.disk_format or "", "image_name": image.name or ""}
    )


@dataclass
class _FlavorView:
    """The sizes of a server's flavor as check_image_fits reads them."""

    server: Server

    @property
    def memory_mb(self) -> int:
        return self.server.memory_mb

    @property
    def root_gb(self) -> int:
        return self.server.root_gb


def resize(db: Session, ctx: RequestContext, options: ComputeSettings, server: Server, flavor_ref: str) -> None:
    """Claim the new flavor's resources on the server's host (a one-host cloud resizes in
    place, as Nova does with allow_resize_to_same_host); the agent applies it."""
    states.check_state(server, "resize", TRANSITIONS["resize"].vm_states)
    flavor = flavor_for_ref(db, ctx, flavor_ref)
    if flavor.flavorid == server.flavor.get("id"):
        raise BadRequest("When resizing, instances must change flavor!")
    if flavor.root_gb < server.root_gb:
        raise BadRequest("Resize error: Unable to resize disk down.")
    if flavor.root_gb == 0 and server.root_gb > 0:
        raise BadRequest("Resize error: Unable to resize disk down.")
    check_quotas(
        db,
        options,
        server.project_id,
        server.user_id,
        {"cores": max(flavor.vcpus - server.vcpus, 0), "ram": max(flavor.memory_mb - server.memory_mb, 0)},
    )
    node = _node_of(db, server)
    if node is None or not scheduler.claim(
        db, node, server.uuid, flavor.vcpus, flavor.memory_mb, flavor.root_gb + flavor.ephemeral_gb, purpose="resize-target"
    ):
        raise BadRequest("No valid host was found. There are not enough hosts available.")
    begin(db, ctx, server, "resize", {"was_stopped": server.vm_state == S.STOPPED})
    _remember_migration_flavors(db, ctx, server, flavor)
    server.new_flavor = flavor_snapshot(flavor)


def _remember_migration_flavors(db: Session, ctx: RequestContext, server: Server, new: Flavor) -> None:
    """os-migrations shows the flavors' integer ids of each resize (Nova's
    old/new_instance_type_id), which a later confirm or revert or a flavor's deletion
    would lose: kept in system_metadata by the resize's request id."""
    old_id = db.scalar(select(Flavor.id).where(Flavor.flavorid == server.flavor.get("id")))
    kept = dict(server.system_metadata.get(MIGRATION_FLAVORS_KEY) or {})
    kept[ctx.request_id] = [old_id, new.id]
    server.system_metadata = {**server.system_metadata, MIGRATION_FLAVORS_KEY: kept}


def _node_of(db: Session, server: Server) -> ComputeNode | None:
    return db.scalars(select(ComputeNode).where(ComputeNode.host == server.host)).first()


def rescue(db: Session, ctx: RequestContext, server: Server, image_ref: str | None) -> None:
    states.check_state(server, "rescue", TRANSITIONS["rescue"].vm_states)
    image_id = images.find_boot_image(db, ctx, image_ref).id if image_ref else server.image_ref
    begin(db, ctx, server, "rescue", {"image_id": image_id, "was_stopped": server.vm_state == S.STOPPED})


def shelve(db: Session, ctx: RequestContext, server: Server) -> str:
    """Shelve = snapshot, then (offload at once, Nova's shelved_offload_time 0) free the host."""
    states.check_state(server, "shelve", TRANSITIONS["shelve"].vm_states)
    image_id = images.create_snapshot_image(
        db,
        ctx,
        f"{server.name}-shelved",
        {"image_type": "snapshot", "instance_uuid": server.uuid, "base_image_ref": server.image_ref},
        min_disk=server.root_gb,
        min_ram=0,
    )
    begin(db, ctx, server, "shelve", {"image_id": image_id})
    return image_id


def unshelve(db: Session, ctx: RequestContext, options: ComputeSettings, server: Server, availability_zone: str | None) -> None:
    """Find a host again (the shelved server holds none) and boot from the shelved image."""
    states.check_state(server, "unshelve", TRANSITIONS["unshelve"].vm_states)
    if server.host is None:
        demand = scheduler.Demand(
            server.vcpus, server.memory_mb, server.root_gb + server.ephemeral_gb, availability_zone or server.availability_zone
        )
        try:
            node = scheduler.schedule(db, options, demand, server.uuid)
        except scheduler.NoValidHost as exc:
            raise Conflict(str(exc)) from None
        server.host, server.node = node.host, node.hypervisor_hostname
        server.availability_zone = availability_zone_of_host(db, node.host, options.default_availability_zone)
    if availability_zone:
        # the server is pinned to the zone it was unshelved into (Nova updates its request spec)
        server.system_metadata = {**server.system_metadata, REQUESTED_ZONE_KEY: availability_zone}
    begin(db, ctx, server, "unshelve", {"image_id": server.system_metadata.get("shelved_image_id")})


def lock(db: Session, ctx: RequestContext, server: Server, reason: str | None) -> None:
    instance_actions.record_action(db, ctx, server, "lock")
    server.locked = True
    server.locked_by = "admin" if ctx.is_admin and ctx.project_id != server.project_id else "owner"
    server.locked_reason = reason
    server.updated_at = utcnow()


def unlock(db: Session, ctx: RequestContext, server: Server, *, may_override: bool) -> None:
    if server.locked and server.locked_by == "admin" and not may_override:
        raise Conflict(f"Instance {server.uuid} is locked")  # Nova: an owner cannot undo an admin's lock
    instance_actions.record_action(db, ctx, server, "unlock")
    server.locked = False
    server.locked_by = None
    server.locked_reason = None
    server.updated_at = utcnow()


def reset_state(db: Session, ctx: RequestContext, server: Server, state: str) -> None:
    """os-resetState (admins): "active" or "error", and the task is forgotten."""
    if state not in ("active", "error"):
        raise BadRequest(f"Invalid input for field/attribute state. Value: {state}. '{state}' is not one of ['active', 'error']")
    instance_actions.record_action(db, ctx, server, "resetState")
    server.vm_state = state
    server.task_state = None
    server.task_args = None
    server.updated_at = utcnow()
