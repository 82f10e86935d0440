"""Subnet pools (neutron/ipam/subnet_alloc.py, the subnet_allocation and
default-subnetpools extensions): prefixes that subnets take their CIDRs from.

A subnet asks a pool for a prefix length (or its default) and gets the first free block
of that size, smallest free blocks first, as Neutron allocates; or it names a CIDR,
which must lie in a free part of the pool. Free is the pool's prefixes less the CIDRs of
the subnets already allocated from it. The pool row is locked for an allocation (FOR
UPDATE on PostgreSQL/MariaDB; SQLite has one writer anyway), so two subnets never get
the same block.

Who sees a pool: admins, its project, and everyone when it is shared (an admin's choice).
One pool per IP version may be the default (use_default_subnetpool on a subnet)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from .. import ipam
from ..common import standard
from ..common.listing import Attribute, Collection, as_boolean, as_integer
from ..faults import (
    BadRequest,
    EmptySubnetPoolPrefixList,
    IllegalSubnetPoolPrefixBounds,
    IllegalSubnetPoolPrefixUpdate,
    InvalidInput,
    MaxPrefixSubnetAllocationError,
    MinPrefixSubnetAllocationError,
    PrefixVersionMismatch,
    SubnetAllocationError,
    SubnetPoolInUse,
    SubnetPoolNotFound,
    SubnetPoolQuotaExceeded,
)
from ..models import Subnet, SubnetPool
from ..schemas.subnetpools import SubnetPoolCreate, SubnetPoolUpdate
from . import quotas
from .common import Viewer

MAX_BITS = {4: 32, 6: 128}
DEFAULT_MIN_PREFIXLEN = {4: 8, 6: 64}  # Neutron's defaults
QUOTA_UNIT = {4: 32, 6: 64}  # default_quota counts /32s (IPv4) or /64s (IPv6)


def _address_scope(values: list[str]) -> Any:
    """address_scope_id is always null here: only an empty filter matches."""
    return true() if all(value in ("", "None", "null") for value in values) else ~true()


COLLECTION = Collection(
    "subnetpools",
    SubnetPool,
    [
        Attribute("id", SubnetPool.id),
        Attribute("name", SubnetPool.name),
        Attribute("description", SubnetPool.description),
        Attribute("project_id", SubnetPool.project_id),
        Attribute("tenant_id", SubnetPool.project_id),
        Attribute("ip_version", SubnetPool.ip_version, as_integer),
        Attribute("default_prefixlen", SubnetPool.default_prefixlen, as_integer),
        Attribute("min_prefixlen", SubnetPool.min_prefixlen, as_integer),
        Attribute("max_prefixlen", SubnetPool.max_prefixlen, as_integer),
        Attribute("default_quota", SubnetPool.default_quota, as_integer, sort=func.coalesce(SubnetPool.default_quota, -1)),
        Attribute("shared", SubnetPool.shared, as_boolean),
        Attribute("is_default", SubnetPool.is_default, as_boolean),
        Attribute("address_scope_id", clause=_address_scope, sortable=False),
        Attribute("revision_number", SubnetPool.revision_number, as_integer),
        Attribute("created_at", sort=SubnetPool.created_at),
        Attribute("updated_at", sort=SubnetPool.updated_at),
    ],
)


def visible(viewer: Viewer) -> Any:
    if viewer.is_admin:
        return true()
    return or_(SubnetPool.project_id == viewer.project_id, SubnetPool.shared.is_(True))


def get_pool(db: Session, viewer: Viewer, pool_id: str, *, lock: bool = False) -> SubnetPool:
    stmt = select(SubnetPool).where(SubnetPool.id == pool_id, visible(viewer))
    pool = db.scalars(stmt.with_for_update() if lock else stmt).first()
    if pool is None:
        raise SubnetPoolNotFound(pool_id)
    return pool


def default_pool(db: Session, ip_version: int) -> SubnetPool:
    stmt = select(SubnetPool).where(SubnetPool.is_default.is_(True), SubnetPool.ip_version == ip_version)
    pool = db.scalars(stmt.with_for_update()).first()
    if pool is None:
        raise BadRequest("subnets", f"No default subnetpool found for IPv{ip_version}")
    return pool


def policy_target(pool: SubnetPool) -> dict[str, Any]:
    return {"id": pool.id, "project_id": pool.project_id, "tenant_id": pool.project_id, "shared": pool.shared}


# -- prefix arithmetic -----------------------------------------------------------------------
def _networks(prefixes: Iterable[str]) -> list[ipam.IpNetwork]:
    return [ipam.network_of(prefix) for prefix in prefixes]


def compact(prefixes: Iterable[str]) -> list[str]:
    """Overlapping and adjacent prefixes merged (Neutron's IPSet.compact), in address order."""
    networks = _networks(prefixes)
    if not networks:
        raise EmptySubnetPoolPrefixList()
    if len({network.version for network in networks}) > 1:
        raise PrefixVersionMismatch()
    return [str(network) for network in ipaddress.collapse_addresses(networks)]  # type: ignore[type-var]


def _subtract(blocks: list[ipam.IpNetwork], taken: Iterable[ipam.IpNetwork]) -> list[ipam.IpNetwork]:
    """The parts of `blocks` outside every network of `taken`."""
    free = list(blocks)
    for gone in taken:
        rest: list[ipam.IpNetwork] = []
        for block in free:
            if block.version != gone.version or not block.overlaps(gone):
                rest.append(block)
            elif gone.prefixlen > block.prefixlen:  # inside the block: keep what is around it
                rest.extend(block.address_exclude(gone))  # type: ignore[arg-type]
        free = rest
    return free


def _covers(blocks: list[ipam.IpNetwork], network: ipam.IpNetwork) -> bool:
    return any(network.version == block.version and network.subnet_of(block) for block in blocks)  # type: ignore[arg-type]


def _bounds(version: int, minimum: int | None, maximum: int | None, default: int | None) -> tuple[int, int, int]:
    """min, max and default prefix lengths with Neutron's defaults and checks."""
    minimum = DEFAULT_MIN_PREFIXLEN[version] if minimum is None else minimum
    maximum = MAX_BITS[version] if maximum is None else maximum
    default = minimum if default is None else default
    if minimum > maximum:
        raise IllegalSubnetPoolPrefixBounds("min_prefixlen", minimum, "max_prefixlen", maximum)
    if maximum > MAX_BITS[version]:
        raise IllegalSubnetPoolPrefixBounds("max_prefixlen", maximum, "ip_version_max", MAX_BITS[version])
    if default < minimum:
        raise IllegalSubnetPoolPrefixBounds("default_prefixlen", default, "min_prefixlen", minimum)
    if default > maximum:
        raise IllegalSubnetPoolPrefixBounds("default_prefixlen", default, "max_prefixlen", maximum)
    return minimum, maximum, default


def _one_default(db: Session, version: int, except_id: str | None = None) -> None:
    stmt = select(SubnetPool.id).where(SubnetPool.is_default.is_(True), SubnetPool.ip_version == version)
    if except_id is not None:
        stmt = stmt.where(SubnetPool.id != except_id)
    if db.scalar(stmt.limit(1)) is not None:
        raise InvalidInput("A default subnetpool for this IP family has already been set. Only one default may exist per IP family")


# -- create / update / delete ------------------------------------------------------------------
def create_pool(db: Session, project_id: str, spec: SubnetPoolCreate) -> SubnetPool:
    quotas.check(db, project_id, "subnetpool")
    prefixes = compact(spec.prefixes)
    version = ipam.network_of(prefixes[0]).version
    minimum, maximum, default = _bounds(version, spec.min_prefixlen, spec.max_prefixlen, spec.default_prefixlen)
    if spec.is_default:
        _one_default(db, version)
    pool = SubnetPool(
        name=spec.name,
        ip_version=version,
        prefixes=prefixes,
        default_prefixlen=default,
        min_prefixlen=minimum,
        max_prefixlen=maximum,
        shared=spec.shared,
        is_default=spec.is_default,
        default_quota=spec.default_quota,
    )
    standard.stamp_new(pool, project_id, spec.description)
    db.add(pool)
    db.flush()
    if spec.tags:
        standard.replace_tags(db, pool, spec.tags, "subnetpools")
        pool.revision_number = 0
    return pool


def update_pool(db: Session, pool: SubnetPool, spec: SubnetPoolUpdate) -> SubnetPool:
    fields = spec.model_fields_set
    if "prefixes" in fields:
        _replace_prefixes(pool, compact(spec.prefixes), growing_only=True)
    minimum, maximum, default = _bounds(
        pool.ip_version,
        spec.min_prefixlen if "min_prefixlen" in fields and spec.min_prefixlen is not None else pool.min_prefixlen,
        spec.max_prefixlen if "max_prefixlen" in fields and spec.max_prefixlen is not None else pool.max_prefixlen,
        spec.default_prefixlen if "default_prefixlen" in fields and spec.default_prefixlen is not None else pool.default_prefixlen,
    )
    pool.min_prefixlen, pool.max_prefixlen, pool.default_prefixlen = minimum, maximum, default
    if "is_default" in fields and spec.is_default and not pool.is_default:
        _one_default(db, pool.ip_version, pool.id)
    for name in ("name", "description", "is_default", "default_quota"):
        if name in fields:
            setattr(pool, name, getattr(spec, name))
    standard.bump(pool)
    db.flush()
    return pool


def _replace_prefixes(pool: SubnetPool, prefixes: list[str], *, growing_only: bool) -> None:
    if ipam.network_of(prefixes[0]).version != pool.ip_version:
        raise PrefixVersionMismatch()
    new = _networks(prefixes)
    if growing_only and not all(_covers(new, old) for old in _networks(pool.prefixes)):
        raise IllegalSubnetPoolPrefixUpdate("Existing prefixes must be a subset of the new prefixes")
    pool.prefixes = prefixes


def add_prefixes(db: Session, pool: SubnetPool, prefixes: list[str]) -> SubnetPool:
    _replace_prefixes(pool, compact([*pool.prefixes, *prefixes]), growing_only=True)
    standard.bump(pool)
    db.flush()
    return pool


def remove_prefixes(db: Session, pool: SubnetPool, prefixes: list[str]) -> SubnetPool:
    """Prefixes go unless a subnet of the pool lies in them."""
    removed = _networks(prefixes)
    for cidr in _allocated(db, pool):
        if any(cidr.version == gone.version and cidr.overlaps(gone) for gone in removed):
            raise IllegalSubnetPoolPrefixUpdate(f"Prefix {cidr} is in use by a subnet of the pool")
    remaining = _subtract(_networks(pool.prefixes), removed)
    if not remaining:
        raise EmptySubnetPoolPrefixList()
    pool.prefixes = compact(str(network) for network in remaining)
    standard.bump(pool)
    db.flush()
    return pool


def delete_pool(db: Session, pool: SubnetPool) -> None:
    if db.scalar(select(Subnet.id).where(Subnet.subnetpool_id == pool.id).limit(1)) is not None:
        raise SubnetPoolInUse(pool.id, "Subnet pool has existing allocations")
    db.delete(pool)
    db.flush()


# -- allocation --------------------------------------------------------------------------------
def _allocated(db: Session, pool: SubnetPool, project_id: str | None = None) -> list[ipam.IpNetwork]:
    stmt = select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id)
    if project_id is not None:
        stmt = stmt.where(Subnet.project_id == project_id)
    return _networks(db.scalars(stmt))


def allocate(db: Session, pool: SubnetPool, project_id: str, ip_version: int, cidr: str | None, prefixlen: int | None) -> str:
    """The CIDR a new subnet of `project_id` gets from the pool: `cidr` if it is free in
    the pool, else the first free block of `prefixlen` (or the pool's default)."""
    if ip_version != pool.ip_version:
        raise BadRequest("subnets", f"Cannot allocate IPv{ip_version} subnet from IPv{pool.ip_version} subnet pool")
    wanted = ipam.network_of(cidr) if cidr is not None else None
    length = wanted.prefixlen if wanted is not None else (prefixlen if prefixlen is not None else pool.default_prefixlen)
    if length > pool.max_prefixlen:
        raise MaxPrefixSubnetAllocationError(length, pool.max_prefixlen)
    if length < pool.min_prefixlen:
        raise MinPrefixSubnetAllocationError(length, pool.min_prefixlen)
    _check_quota(db, pool, project_id, length)
    free = _subtract(_networks(pool.prefixes), _allocated(db, pool))
    if wanted is not None:
        if not _covers(free, wanted):
            raise SubnetAllocationError("Cannot allocate requested subnet from the available set of prefixes")
        return str(wanted)
    for block in sorted(free, key=lambda network: (-network.prefixlen, network)):
        if length >= block.prefixlen:
            return str(next(block.subnets(new_prefix=length)))
    raise SubnetAllocationError(f"Insufficient prefix space to allocate subnet size /{length}")


def _check_quota(db: Session, pool: SubnetPool, project_id: str, length: int) -> None:
    if not pool.default_quota:
        return
    unit = QUOTA_UNIT[pool.ip_version]
    used = sum(2 ** max(unit - network.prefixlen, 0) for network in _allocated(db, pool, project_id))
    if used + 2 ** max(unit - length, 0) > pool.default_quota:
        raise SubnetPoolQuotaExceeded()
