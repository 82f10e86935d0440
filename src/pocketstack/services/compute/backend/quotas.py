"""Compute quotas as Nova's DbQuotaDriver keeps them: limits, usage, and the check.

Where a limit comes from, most specific first:

    a user's own limit      compute_quotas (project_id, user_id, resource)
    the project's limit     compute_quotas (project_id, "", resource)
    the "default" class     compute_quotas ("__class__:default", "", resource)
    the configuration       settings.compute.default_quotas (-1 when not named there)

Quota classes (os-quota-class-sets) live in the same table under the project id
"__class__:<name>", which no Keystone project id can be (they are hex). Only the
"default" class takes effect, as in Nova, where no request carries another class.

Usage is counted from the tables, never stored: servers (not deleted, not soft-deleted:
count, vCPUs, RAM), server groups, a user's keypairs, a group's members. The count and
the row it guards are written in one transaction; on SQLite write transactions queue
(BEGIN IMMEDIATE), so two requests cannot both take the last unit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pocketstack.config import ComputeSettings
from pocketstack.core.faults import BadRequest, Forbidden

from .. import states
from ..models import KeyPair, Quota, Server, ServerGroup

# Nova's quota resources (nova/quota.py), in the order its API lists them
RESOURCES = (
    "instances",
    "cores",
    "ram",
    "metadata_items",
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
    "key_pairs",
    "server_groups",
    "server_group_members",
    "fixed_ips",
    "floating_ips",
    "security_groups",
    "security_group_rules",
)
# nova-network's quotas: shown (always unlimited) until 2.36, gone from it (2.50 for classes)
NETWORK_RESOURCES = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
# personality files: gone from 2.57
INJECTED_FILE_RESOURCES = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
# what the detail view and the settable range count as used: Nova counts these per
# user or per group, never for a project, so they show 0 there
NOT_COUNTED_FOR_PROJECTS = ("key_pairs", "server_group_members")
UNLIMITED = -1
MAX_LIMIT = 0x7FFFFFFF  # Nova's db MAX_INT
CLASS_PREFIX = "__class__:"
DEFAULT_CLASS = "default"
# Nova's TooManyInstances message covers these three together
INSTANCE_RESOURCES = ("instances", "cores", "ram")


class QuotaExceeded(Forbidden):
    """403, as Nova's OverQuota turns into at the API; `overs` names the resources."""

    def __init__(self, message: str, overs: list[str]) -> None:
        super().__init__(message)
        self.overs = overs


@dataclass(frozen=True)
class Detail:
    """One resource of the detail view."""

    limit: int
    in_use: int
    reserved: int = 0  # Nova stopped reserving; the API still shows the key


# -- limits -----------------------------------------------------------------------------
def _rows(db: Session, project_id: str, user_id: str = "") -> dict[str, int]:
    rows = db.execute(select(Quota.resource, Quota.hard_limit).where(Quota.project_id == project_id, Quota.user_id == user_id))
    return {resource: limit for resource, limit in rows if resource in RESOURCES}


def configured_defaults(settings: ComputeSettings) -> dict[str, int]:
    """The limits the configuration gives (nova-network's: unlimited)."""
    return {resource: int(settings.default_quotas.get(resource, UNLIMITED)) for resource in RESOURCES}


def class_limits(db: Session, settings: ComputeSettings, class_name: str) -> dict[str, int]:
    """A quota class: its own limits over the configured ones."""
    return {**configured_defaults(settings), **_rows(db, CLASS_PREFIX + class_name)}


def default_limits(db: Session, settings: ComputeSettings) -> dict[str, int]:
    """What a project without limits of its own gets (os-quota-sets/{id}/defaults)."""
    return class_limits(db, settings, DEFAULT_CLASS)


def project_limits(db: Session, settings: ComputeSettings, project_id: str) -> dict[str, int]:
    return {**default_limits(db, settings), **_rows(db, project_id)}


def user_limits(db: Session, settings: ComputeSettings, project_id: str, user_id: str) -> dict[str, int]:
    """A user's limits: their own where set, the project's elsewhere."""
    return {**project_limits(db, settings, project_id), **_rows(db, project_id, user_id)}


def limits_for(db: Session, settings: ComputeSettings, project_id: str, user_id: str | None = None) -> dict[str, int]:
    return user_limits(db, settings, project_id, user_id) if user_id else project_limits(db, settings, project_id)


# -- usage ------------------------------------------------------------------------------
def usage(db: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What a project (or one user in it) holds now, by Nova's resource names."""
    servers = [Server.project_id == project_id, Server.deleted.is_(False), Server.vm_state != states.SOFT_DELETED]
    groups = [ServerGroup.project_id == project_id]
    if user_id:
        servers.append(Server.user_id == user_id)
        groups.append(ServerGroup.user_id == user_id)
    count, cores, ram = db.execute(
        select(func.count(Server.id), func.coalesce(func.sum(Server.vcpus), 0), func.coalesce(func.sum(Server.memory_mb), 0)).where(
            *servers
        )
    ).one()
    used = dict.fromkeys(RESOURCES, 0)
    used.update(instances=count, cores=int(cores), ram=int(ram))
    used["server_groups"] = db.scalar(select(func.count(ServerGroup.id)).where(*groups)) or 0
    return used


def live_members(db: Session, group: ServerGroup) -> list[str]:
    """The group's members whose servers are not deleted (a member whose row is not
    written yet, in the transaction that creates it, counts as live)."""
    uuids = [member.server_uuid for member in group.members]
    if not uuids:
        return []
    gone = set(db.scalars(select(Server.uuid).where(Server.uuid.in_(uuids), Server.deleted.is_(True))))
    return [uuid for uuid in uuids if uuid not in gone]


def limit_of(db: Session, settings: ComputeSettings, project_id: str, resource: str, user_id: str | None = None) -> int:
    """One resource's limit for a project (or a user in it); -1 is none."""
    return limits_for(db, settings, project_id, user_id)[resource]


def keypairs_of(db: Session, user_id: str) -> int:
    return db.scalar(select(func.count(KeyPair.id)).where(KeyPair.user_id == user_id)) or 0


def detail(db: Session, settings: ComputeSettings, project_id: str, user_id: str | None = None) -> dict[str, Detail]:
    """Limit and use of every resource (os-quota-sets/{id}/detail)."""
    limits = limits_for(db, settings, project_id, user_id)
    used = usage(db, project_id, user_id)
    return {resource: Detail(limits[resource], 0 if resource in NOT_COUNTED_FOR_PROJECTS else used[resource]) for resource in RESOURCES}


# -- changing limits ----------------------------------------------------------------------
def _over(limit: int, bound: int) -> bool:
    """limit > bound, where -1 is infinity on either side."""
    if bound == UNLIMITED:
        return False
    return limit == UNLIMITED or limit > bound


def _settable_range(db: Session, settings: ComputeSettings, project_id: str, user_id: str | None) -> dict[str, tuple[int, int]]:
    """(minimum, maximum) each limit may be set to without forcing, as Nova's
    get_settable_quotas: never below what is in use; a project's limit never below what
    its users' own limits add up to; a user's never above what the project has left."""
    project = project_limits(db, settings, project_id)
    users_total: dict[str, int] = dict.fromkeys(RESOURCES, 0)
    for resource, limit in db.execute(select(Quota.resource, Quota.hard_limit).where(Quota.project_id == project_id, Quota.user_id != "")):
        if resource in users_total and limit > 0:
            users_total[resource] += limit
    in_use = {resource: item.in_use for resource, item in detail(db, settings, project_id, user_id).items()}
    ranges = {}
    if user_id:
        own = _rows(db, project_id, user_id)
        for resource in RESOURCES:
            if project[resource] == UNLIMITED:
                maximum = UNLIMITED
            else:
                maximum = project[resource] - users_total[resource] + max(own.get(resource, 0), 0)
            ranges[resource] = (in_use[resource], maximum)
    else:
        for resource in RESOURCES:
            floor = in_use[resource] if project[resource] == UNLIMITED else max(in_use[resource], users_total[resource])
            ranges[resource] = (floor, UNLIMITED)
    return ranges


def update_limits(
    db: Session, settings: ComputeSettings, project_id: str, user_id: str | None, wanted: Mapping[str, int], *, force: bool
) -> None:
    """Set a project's (or a user's) limits; each must fit its settable range unless
    forced. All are checked before any is written (400 names the first misfit)."""
    if not force:
        ranges = _settable_range(db, settings, project_id, user_id)
        for resource, limit in wanted.items():
            minimum, maximum = ranges[resource]
            if _over(minimum, limit):
                raise BadRequest(
                    f"Quota limit {limit} for {resource} must be greater than or equal to already used and reserved {minimum}."
                )
            if _over(limit, maximum):
                raise BadRequest(f"Quota limit {limit} for {resource} must be less than or equal to {maximum}.")
    _store(db, project_id, user_id or "", wanted)


def update_class(db: Session, class_name: str, wanted: Mapping[str, int]) -> None:
    _store(db, CLASS_PREFIX + class_name, "", wanted)


def _store(db: Session, project_id: str, user_id: str, wanted: Mapping[str, int]) -> None:
    for resource, limit in wanted.items():
        row = db.get(Quota, (project_id, user_id, resource))
        if row is None:
            db.add(Quota(project_id=project_id, user_id=user_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    db.flush()


def delete_limits(db: Session, project_id: str, user_id: str | None = None) -> None:
    """Back to the defaults: a user's own limits, or the project's and all its users'."""
    where = [Quota.project_id == project_id]
    if user_id:
        where.append(Quota.user_id == user_id)
    db.execute(delete(Quota).where(*where))


# -- enforcing ------------------------------------------------------------------------------
def check_quotas(
    db: Session,
    settings: ComputeSettings,
    project_id: str,
    user_id: str,
    wanted: Mapping[str, int],
    *,
    group: ServerGroup | None = None,
    used: Mapping[str, int] | None = None,
) -> None:
    """Refuse (403, Nova's words) a request that would take any resource past its limit.

    `wanted` maps Nova's resource names (instances, cores, ram, key_pairs, server_groups,
    server_group_members, metadata_items) to how many more the request takes. What is
    in use is counted here: the project's servers and groups, the user's keypairs, the
    live members of `group` (for server_group_members); metadata_items is per server,
    so 0. `used` overrides any count. A limit of -1 is no limit. The project's limits
    apply, and a user's own limits as well where they are set (Nova's check_deltas)."""
    unknown = sorted(set(wanted) - set(RESOURCES))
    if unknown:
        raise ValueError(f"not quota resources: {', '.join(unknown)}")
    checks = [(project_limits(db, settings, project_id), usage(db, project_id))]
    own = _rows(db, project_id, user_id) if user_id else {}
    if any(resource in own for resource in wanted):
        checks.append((user_limits(db, settings, project_id, user_id), usage(db, project_id, user_id)))
    for limits, counted in checks:
        counted = {**counted, "key_pairs": keypairs_of(db, user_id) if "key_pairs" in wanted else 0}
        if group is not None:
            counted["server_group_members"] = len(live_members(db, group))
        counted.update(used or {})
        # a resource the request takes none of more cannot fail it (a limit lowered by force
        # below what is in use stops growth, not everything)
        overs = [r for r in RESOURCES if wanted.get(r, 0) > 0 and limits[r] != UNLIMITED and counted.get(r, 0) + wanted[r] > limits[r]]
        if overs:
            raise _exceeded(overs, wanted, counted, limits)


# Nova's own words when one of these runs out (KeypairLimitExceeded and friends)
SPECIFIC_MESSAGES = {
    "key_pairs": "Quota exceeded, too many key pairs.",
    "server_groups": "Quota exceeded, too many server groups.",
    "server_group_members": "Quota exceeded, too many servers in group",
}


def _exceeded(overs: list[str], wanted: Mapping[str, int], counted: Mapping[str, int], limits: Mapping[str, int]) -> QuotaExceeded:
    """Nova's message: the instance quotas first, in TooManyInstances' words ("Quota
    exceeded for cores, ram: Requested 2, 1024, but already used 19, 51000 of 20, 51200
    cores, ram"); otherwise the refusal Nova has for that resource."""
    instance_overs = [r for r in overs if r in INSTANCE_RESOURCES]
    if not instance_overs and overs[0] in SPECIFIC_MESSAGES:
        return QuotaExceeded(SPECIFIC_MESSAGES[overs[0]], overs[:1])
    if not instance_overs and overs[0] == "metadata_items":
        return QuotaExceeded(f"Maximum number of metadata items exceeds {limits['metadata_items']}", overs[:1])
    shown = instance_overs or overs

    def joined(values: Iterable[object]) -> str:
        return ", ".join(str(v) for v in values)

    names = joined(shown)
    message = (
        f"Quota exceeded for {names}: Requested {joined(wanted[r] for r in shown)}, "
        f"but already used {joined(counted.get(r, 0) for r in shown)} of {joined(limits[r] for r in shown)} {names}"
    )
    return QuotaExceeded(message, shown)


def check_key_pair_quota(db: Session, settings: ComputeSettings, project_id: str | None, user_id: str) -> None:
    """One more keypair for this user? (403 "Quota exceeded, too many key pairs." if not)"""
    check_quotas(db, settings, project_id or "", user_id, {"key_pairs": 1})
