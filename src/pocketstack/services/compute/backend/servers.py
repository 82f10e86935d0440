"""Servers: creating them (checks, quota, scheduling and claims in one transaction),
finding, listing with Nova's filters, updating and deleting them, and their metadata
and tags. The work on the hypervisor is the agent's: these functions only record what
is wanted (vm_state/task_state) and return.

A project sees only its own servers; admins see everyone's with all_tenants."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound
from pocketstack.core.pagination import Page, PageRequest, paginate_ordered

from .. import images, states
from .. import networking as networking_api
from ..consoles import delete_console_tokens
from ..models import Flavor, Server, ServerGroup, ServerMetadata, ServerTag
from ..schemas.servers import ServerCreate
from . import instance_actions, scheduler, server_groups
from .aggregates import availability_zone_of_host
from .flavors import Viewer, extra_specs, get_flavor
from .keypairs import get_keypair
from .quotas import check_quotas, limit_of

GIB = 1 << 30
ADMIN_PASS_LENGTH = 12
# the system_metadata key of the availability zone a create (or unshelve) asked for:
# Nova's request spec zone, shown as pinned_availability_zone (2.96+)
REQUESTED_ZONE_KEY = "requested_availability_zone"
# the system_metadata key of Nova's instance.auto_disk_config (OS-DCF:diskConfig AUTO)
AUTO_DISK_CONFIG_KEY = "auto_disk_config"
DISK_CONFIGS = ("AUTO", "MANUAL")


@dataclass
class CreateResult:
    servers: list[Server]
    reservation_id: str
    admin_pass: str


# -- finding --------------------------------------------------------------------------
def get_server(db: Session, ctx: RequestContext, server_uuid: str, *, include_deleted: bool = False) -> Server:
    """A server the caller's project owns (any server for an admin); 404 otherwise."""
    stmt = select(Server).where(Server.uuid == server_uuid)
    if not include_deleted:
        stmt = stmt.where(Server.deleted.is_(False))
    if not ctx.is_admin:
        stmt = stmt.where(Server.project_id == ctx.project_id)
    server = db.scalars(stmt).first()
    if server is None:
        raise NotFound(f"Instance {server_uuid} could not be found.")
    return server


def policy_target(server: Server) -> dict[str, Any]:
    return {"project_id": server.project_id, "user_id": server.user_id, "uuid": server.uuid}


# -- creating -------------------------------------------------------------------------
def create_servers(
    db: Session,
    ctx: RequestContext,
    options: ComputeSettings,
    body: ServerCreate,
    hints: dict[str, Any],
    *,
    is_admin: bool,
    networking: bool = False,
) -> CreateResult:
    """`networking`: whether the networking service runs (ports for the servers' NICs)."""
    flavor = flavor_for_ref(db, ctx, body.flavorRef)
    image = _boot_image(db, ctx, body)
    check_image_fits(flavor, image, is_admin=is_admin)
    key = _keypair(db, ctx, body.key_name)
    zone, forced_host = _zone_and_host(body, is_admin=is_admin)
    group = server_groups.group_of_server_hints(db, None if ctx.is_admin else ctx.project_id, hints)
    count = int(body.max_count or body.min_count)
    raw_networks = (
        body.networks
        if isinstance(body.networks, str) or body.networks is None
        else [n.model_dump(exclude_none=True) for n in body.networks]
    )
    nics = networking_api.requested_nics(db, ctx, raw_networks, available=networking)
    if count > 1 and any(nic.port_id or nic.fixed_ip for nic in nics):
        raise BadRequest("Multiple instances cannot be created with a port or a fixed IP.")
    _check_quotas(db, options, ctx, flavor, count, len(body.metadata), group)
    reservation_id = "r-" + secrets.token_hex(4)
    admin_pass = body.adminPass or new_password()
    servers = []
    for index in range(count):
        server = _new_server(ctx, options, body, flavor, image, key, zone, reservation_id, index, count)
        db.add(server)
        db.flush()
        if group is not None:
            server_groups.add_member(db, options, group, server.uuid)
        instance_actions.record_action(db, ctx, server, "create")
        _place(db, options, server, image, group, forced_host)
        if server.host is not None:
            networking_api.allocate(db, ctx, server, nics)
        if networking and not nics:
            server.security_groups = []  # as Nova with Neutron: a server's groups are its ports'
        servers.append(server)
    return CreateResult(servers, reservation_id, admin_pass)


def flavor_for_ref(db: Session, ctx: RequestContext, ref: str | int) -> Flavor:
    flavorid = str(ref).rstrip("/").rsplit("/", 1)[-1]
    try:
        return get_flavor(db, Viewer(ctx.project_id, ctx.is_admin), flavorid)
    except NotFound:
        raise BadRequest(f"Flavor {flavorid} could not be found.") from None


def _boot_image(db: Session, ctx: RequestContext, body: ServerCreate) -> images.ImageInfo:
    if body.imageRef:
        return images.find_boot_image(db, ctx, body.imageRef)
    for mapping in body.block_device_mapping_v2 or []:
        if mapping.source_type == "image" and str(mapping.boot_index) == "0" and mapping.uuid:
            if mapping.destination_type == "volume":
                raise BadRequest("Booting from a volume needs the block storage service, which this cloud does not run yet.")
            return images.find_boot_image(db, ctx, mapping.uuid)
    if body.block_device_mapping_v2 or body.block_device_mapping:
        raise BadRequest("Booting from a volume needs the block storage service, which this cloud does not run yet.")
    raise BadRequest("Missing imageRef attribute")


def check_image_fits(flavor: Flavor, image: images.ImageInfo, *, is_admin: bool) -> None:
    if flavor.memory_mb < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if flavor.root_gb == 0:
        if not is_admin:
            raise Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
        return
    if image.min_disk > flavor.root_gb:
        raise BadRequest(
            "Flavor's disk is too small for requested image. Flavor disk is %d bytes, minimum required by image is %d bytes."
            % (flavor.root_gb * GIB, image.min_disk * GIB)
        )
    needed = max(image.size, image.virtual_size or 0)
    if needed > flavor.root_gb * GIB:
        raise BadRequest(
            "Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes." % (flavor.root_gb * GIB, needed)
        )


def _keypair(db: Session, ctx: RequestContext, name: str | None) -> Any:
    if name is None:
        return None
    try:
        return get_keypair(db, ctx.user_id or "", name)
    except NotFound:
        raise BadRequest("Invalid key_name provided.") from None


def _zone_and_host(body: ServerCreate, *, is_admin: bool) -> tuple[str | None, str | None]:
    """availability_zone may be "zone", "zone:host" or "zone:host:node" (the host part
    for admins only), and 2.74 adds host/hypervisor_hostname fields (admins only)."""
    zone, forced_host = body.availability_zone, body.host or body.hypervisor_hostname
    if zone and ":" in zone:
        zone, _, rest = zone.partition(":")
        forced_host = rest.split(":", 1)[0] or forced_host
        zone = zone or None
    if forced_host and not is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
    return zone, forced_host


def _check_quotas(
    db: Session, options: ComputeSettings, ctx: RequestContext, flavor: Flavor, count: int, metadata_items: int, group: ServerGroup | None
) -> None:
    wanted = {"instances": count, "cores": count * flavor.vcpus, "ram": count * flavor.memory_mb}
    if group is not None:
        wanted["server_group_members"] = count
    check_quotas(db, options, ctx.project_id or "", ctx.user_id or "", wanted, group=group)
    limit = _metadata_limit(db, options, ctx)
    if limit >= 0 and metadata_items > limit:
        raise Forbidden(f"Quota exceeded for metadata_items: Requested {metadata_items}, but the limit is {limit} metadata_items")


def _metadata_limit(db: Session, options: ComputeSettings, ctx: RequestContext) -> int:
    return limit_of(db, options, ctx.project_id or "", "metadata_items")


def _new_server(
    ctx: RequestContext,
    options: ComputeSettings,
    body: ServerCreate,
    flavor: Flavor,
    image: images.ImageInfo,
    key: Any,
    zone: str | None,
    reservation_id: str,
    index: int,
    count: int,
) -> Server:
    name = body.name if count == 1 else f"{body.name}-{index + 1}"
    stamp = utcnow()
    server = Server(
        uuid=str(uuid.uuid4()),
        project_id=ctx.project_id or "",
        user_id=ctx.user_id or "",
        name=name,
        description=body.description,
        hostname=body.hostname or hostname_from(name),
        image_ref=image.id,
        flavor=flavor_snapshot(flavor),
        flavor_id=flavor.flavorid,
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb,
        key_name=key.name if key else None,
        key_data=key.public_key if key else None,
        user_data=body.user_data,
        config_drive=body.wants_config_drive or options.force_config_drive,
        access_ip_v4=body.accessIPv4 or None,
        access_ip_v6=body.accessIPv6 or None,
        vm_state=states.BUILDING,
        task_state=states.SCHEDULING,
        power_state=0,
        availability_zone=zone,
        reservation_id=reservation_id,
        launch_index=index,
        security_groups=[g.name for g in body.security_groups] if body.security_groups else ["default"],
        requested_networks=body.networks
        if isinstance(body.networks, str) or body.networks is None
        else [n.model_dump(exclude_none=True) for n in body.networks],
        block_device_mapping=[m.model_dump(exclude_none=True) for m in body.block_device_mapping_v2 or []],
        scheduler_hints={},
        system_metadata={f"image_{k}": v for k, v in image.properties.items()}
        | {"image_disk_format": image.disk_format or "", "image_name": image.name or ""},
        created_at=stamp,
        updated_at=stamp,
    )
    server.metadata_items = [ServerMetadata(key=k, value=v) for k, v in body.metadata.items()]
    server.tag_items = [ServerTag(tag=t) for t in dict.fromkeys(body.tags or [])]
    if key is not None:
        server.system_metadata = {**server.system_metadata, "key_type": key.type}
    if zone:
        server.system_metadata = {**server.system_metadata, REQUESTED_ZONE_KEY: zone}
    set_disk_config(server, body.disk_config, default_from_image=True)
    return server


def set_disk_config(server: Server, requested: str | None, *, default_from_image: bool = False) -> None:
    """OS-DCF:diskConfig. AUTO: the guest's partition may be grown with its disk (Nova's
    auto_disk_config; here the disk grows either way, and the guest's own tools grow what
    is on it), MANUAL: not. Unsaid: the image's auto_disk_config property at create, the
    server's own value later. An image that says "disabled" refuses AUTO."""
    image_says = str(server.system_metadata.get("image_auto_disk_config", "")).strip().lower()
    if requested is None:
        if not default_from_image:
            return
        auto = image_says in ("1", "true", "yes", "on", "t", "y")
    elif requested not in DISK_CONFIGS:
        raise BadRequest(
            f"Invalid input for field/attribute OS-DCF:diskConfig. Value: {requested}. '{requested}' is not one of {list(DISK_CONFIGS)}"
        )
    else:
        auto = requested == "AUTO"
        if auto and image_says == "disabled":
            raise BadRequest(f"Requested image {server.image_ref} has automatic disk resize disabled.")
    server.system_metadata = {**server.system_metadata, AUTO_DISK_CONFIG_KEY: auto}


def disk_config(server: Server) -> str:
    return "AUTO" if server.system_metadata.get(AUTO_DISK_CONFIG_KEY) else "MANUAL"


def _place(
    db: Session, options: ComputeSettings, server: Server, image: images.ImageInfo, group: ServerGroup | None, forced_host: str | None
) -> None:
    """Schedule and claim now (a quick query): the agent of the chosen host spawns it.
    No host -> the server is ERROR with Nova's fault, as Nova leaves it."""
    demand = scheduler.Demand(
        vcpus=server.vcpus,
        memory_mb=server.memory_mb,
        disk_gb=server.root_gb + server.ephemeral_gb,
        availability_zone=server.availability_zone,
        group=group,
        image_properties=image.properties,
        forced_host=forced_host,
    )
    try:
        node = scheduler.schedule(db, options, demand, server.uuid)
    except scheduler.NoValidHost as exc:
        set_error(server, str(exc), code=500)
        return
    server.host = node.host
    server.node = node.hypervisor_hostname
    server.availability_zone = availability_zone_of_host(db, node.host, options.default_availability_zone)
    server.task_state = states.SPAWNING


def set_error(server: Server, message: str, *, code: int = 500, details: str = "") -> None:
    server.vm_state = states.ERROR
    server.task_state = None
    server.task_args = None
    server.fault = {"code": code, "message": message[:255], "details": details, "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    server.updated_at = utcnow()


def flavor_snapshot(flavor: Flavor) -> dict[str, Any]:
    return {
        "id": flavor.flavorid,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "vcpus": flavor.vcpus,
        "disk": flavor.root_gb,
        "ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "extra_specs": extra_specs(flavor),
        "description": flavor.description,
    }


def hostname_from(name: str) -> str:
    """Nova's sanitize_hostname: lower case, runs of other characters become '-', 63 at most."""
    text = name.lower()
    text = re.sub(r"[ _.]", "-", text)
    text = re.sub(r"[^a-z0-9-]", "", text)
    text = text.strip("-")[:63].strip("-")
    return text or "server"


def new_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(ADMIN_PASS_LENGTH))


# -- listing --------------------------------------------------------------------------
SORT_KEYS = {
    "created_at": Server.created_at,
    "updated_at": func.coalesce(Server.updated_at, Server.created_at),
    "display_name": Server.name,
    "uuid": Server.uuid,
    "vm_state": Server.vm_state,
    "task_state": func.coalesce(Server.task_state, ""),
    "power_state": Server.power_state,
    "launched_at": func.coalesce(Server.launched_at, Server.created_at),
    "terminated_at": func.coalesce(Server.terminated_at, Server.created_at),
    "host": func.coalesce(Server.host, ""),
    "node": func.coalesce(Server.node, ""),
    "hostname": Server.hostname,
    "image_ref": Server.image_ref,
    "availability_zone": func.coalesce(Server.availability_zone, ""),
    "key_name": func.coalesce(Server.key_name, ""),
    "project_id": Server.project_id,
    "user_id": Server.user_id,
    "locked": Server.locked,
    "instance_type_id": Server.memory_mb,
    "display_description": func.coalesce(Server.description, ""),
    "access_ip_v4": func.coalesce(Server.access_ip_v4, ""),
    "access_ip_v6": func.coalesce(Server.access_ip_v6, ""),
    "config_drive": Server.config_drive,
    "progress": Server.progress,
    "vcpus": Server.vcpus,
    "memory_mb": Server.memory_mb,
    "root_gb": Server.root_gb,
    "ephemeral_gb": Server.ephemeral_gb,
    "launch_index": Server.launch_index,
    "reservation_id": Server.reservation_id,
}
# what only admins may sort by (Nova's SERVER_LIST_IGNORE_SORT_KEY_NON_ADMIN-like rule)
ADMIN_SORT_KEYS = {"host", "node"}


@dataclass
class ServerQuery:
    project_id: str | None  # None: every project (admin with all_tenants)
    include_deleted: bool = False
    deleted_only: bool = False
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    name: str | None = None
    vm_states: list[str] | None = None
    task_states: list[str] | None = None
    image: str | None = None
    flavor: str | None = None
    host: str | None = None
    node: str | None = None
    reservation_id: str | None = None
    user_id: str | None = None
    availability_zone: str | None = None
    key_name: str | None = None
    locked: bool | None = None
    ip: str | None = None
    uuid: str | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=lambda: [("created_at", True)])


def list_servers(db: Session, query: ServerQuery, page: PageRequest) -> Page[Server]:
    stmt = _filtered(select(Server), query)
    order = [(SORT_KEYS[key], descending) for key, descending in query.sort]
    order.append((Server.uuid, query.sort[-1][1] if query.sort else True))
    return paginate_ordered(db, stmt, Server.uuid, page, order)


def _filtered(stmt: Select[Any], q: ServerQuery) -> Select[Any]:
    if q.project_id is not None:
        stmt = stmt.where(Server.project_id == q.project_id)
    if q.deleted_only:
        stmt = stmt.where(Server.deleted.is_(True))
    elif not q.include_deleted and q.changes_since is None and q.changes_before is None:
        stmt = stmt.where(Server.deleted.is_(False))
    changed = func.coalesce(Server.updated_at, Server.created_at)
    if q.changes_since is not None:
        stmt = stmt.where(changed >= q.changes_since)
    if q.changes_before is not None:
        stmt = stmt.where(changed <= q.changes_before)
    if q.name is not None:
        stmt = stmt.where(Server.name.regexp_match(q.name))
    if q.vm_states is not None:
        stmt = stmt.where(Server.vm_state.in_(q.vm_states))
    if q.task_states is not None:
        stmt = stmt.where(Server.task_state.in_(q.task_states))
    for column, value in (
        (Server.image_ref, q.image),
        (Server.host, q.host),
        (Server.node, q.node),
        (Server.reservation_id, q.reservation_id),
        (Server.user_id, q.user_id),
        (Server.availability_zone, q.availability_zone),
        (Server.key_name, q.key_name),
        (Server.uuid, q.uuid),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if q.flavor is not None:
        stmt = stmt.where(Server.flavor_id == q.flavor)
    if q.locked is not None:
        stmt = stmt.where(Server.locked.is_(q.locked))
    if q.ip is not None:
        stmt = stmt.where(Server.uuid.in_(networking_api.servers_with_address(q.ip)))
    return _tag_filters(stmt, q)


def _has_tag(tag: str) -> Any:
    return exists().where(ServerTag.server_id == Server.id, ServerTag.tag == tag)


def _tag_filters(stmt: Select[Any], q: ServerQuery) -> Select[Any]:
    if q.tags:
        stmt = stmt.where(and_(*[_has_tag(t) for t in q.tags]))
    if q.tags_any:
        stmt = stmt.where(or_(*[_has_tag(t) for t in q.tags_any]))
    if q.not_tags:
        stmt = stmt.where(not_(and_(*[_has_tag(t) for t in q.not_tags])))
    if q.not_tags_any:
        stmt = stmt.where(not_(or_(*[_has_tag(t) for t in q.not_tags_any])))
    return stmt


# -- updating -------------------------------------------------------------------------
def update_server(server: Server, changes: dict[str, Any]) -> Server:
    for name, value in changes.items():
        setattr(server, name, value)
    server.updated_at = utcnow()
    return server


def check_not_locked(ctx: RequestContext, server: Server, *, may_override: bool) -> None:
    """Nova: a locked server refuses changes except from an admin (or its locker)."""
    if server.locked and not may_override:
        raise Conflict(f"Instance {server.uuid} is locked")


# -- deleting -------------------------------------------------------------------------
def delete_server(db: Session, ctx: RequestContext, server: Server, *, force: bool = False) -> bool:
    """Ask for deletion; returns True when the agent has work to do (wake it)."""
    if server.task_state == states.DELETING:
        return True  # asked already: Nova answers 204 again
    instance_actions.record_action(db, ctx, server, "delete")
    if server.host is None:
        # never placed (no valid host, or offloaded): nothing exists on any hypervisor
        finish_delete(db, server)
        return False
    server.task_state = states.DELETING
    server.task_args = None
    server.updated_at = utcnow()
    return True


def finish_delete(db: Session, server: Server) -> None:
    """The row becomes a deleted record; its claims, ports and group membership are gone."""
    scheduler.release(db, server.uuid)
    networking_api.release(db, server)
    stamp = utcnow()
    server.vm_state = states.DELETED
    server.task_state = None
    server.task_args = None
    server.power_state = 0
    server.deleted = True
    server.deleted_at = stamp
    server.terminated_at = stamp
    server.updated_at = stamp
    server_groups.remove_member(db, server.uuid)
    delete_console_tokens(db, server.uuid)


# -- metadata and tags ----------------------------------------------------------------
def set_metadata(
    db: Session, options: ComputeSettings, ctx: RequestContext, server: Server, items: dict[str, str], *, replace: bool
) -> dict[str, str]:
    merged = dict(items) if replace else {**server.metadata_dict, **items}
    limit = _metadata_limit(db, options, ctx)
    if limit >= 0 and len(merged) > limit:
        raise Forbidden(f"Quota exceeded for metadata_items: Requested {len(merged)}, but the limit is {limit} metadata_items")
    existing = {item.key: item for item in server.metadata_items}
    server.metadata_items = [existing[k] if k in existing else ServerMetadata(key=k, value=v) for k, v in merged.items()]
    for item in server.metadata_items:
        item.value = merged[item.key]
    server.updated_at = utcnow()
    return server.metadata_dict


def delete_metadata_item(server: Server, key: str) -> None:
    if key not in server.metadata_dict:
        raise NotFound("Metadata item was not found")
    server.metadata_items = [item for item in server.metadata_items if item.key != key]
    server.updated_at = utcnow()


def set_tags(server: Server, tags: list[str]) -> list[str]:
    existing = {item.tag: item for item in server.tag_items}
    server.tag_items = [existing.get(t) or ServerTag(tag=t) for t in dict.fromkeys(tags)]
    server.updated_at = utcnow()
    return server.tags


def add_tag(server: Server, tag: str) -> bool:
    """True if the tag is new (201), False if it was there (204)."""
    if tag in server.tags:
        return False
    if len(server.tags) >= 50:
        raise BadRequest("The number of tags exceeded the per-server limit 50")
    server.tag_items.append(ServerTag(tag=tag))
    server.updated_at = utcnow()
    return True


def delete_tag(server: Server, tag: str) -> None:
    if tag not in server.tags:
        raise NotFound(f"Tag {tag} could not be found.")
    server.tag_items = [item for item in server.tag_items if item.tag != tag]
    server.updated_at = utcnow()
