"""Images: create, list with Glance's filters, show, JSON-patch updates, delete, tags,
deactivate/reactivate. The only code that changes an image's metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from pocketstack.config import ImageSettings
from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from pocketstack.core.pagination import PageRequest, paginate_ordered

from .. import schemas
from ..models import ACTIVE, DEACTIVATED, QUEUED, Image, ImageProperty, ImageTag
from . import locations
from .common import is_member_of, new_id, now
from .quotas import check_image_count

MAX_TAGS = 128  # Glance's image_tag_quota
MAX_PROPERTIES = 128  # Glance's image_property_quota


def create_image(db: Session, ctx: RequestContext, body: schemas.ImageCreate) -> Image:
    core = body.core
    owner = core.get("owner", ctx.project_id)
    if owner != ctx.project_id and not ctx.is_admin:
        raise Forbidden("You are not permitted to create images owned by another project.")
    visibility = core.get("visibility", "shared")
    _check_visibility_change(ctx, visibility)
    if body.id is not None and db.get(Image, body.id) is not None:
        raise Conflict(f"An image with identifier {body.id} already exists")
    check_image_count(db, owner)
    created = now()
    image = Image(
        id=body.id or new_id(),
        name=core.get("name"),
        status=QUEUED,
        visibility=visibility,
        owner=owner,
        disk_format=core.get("disk_format"),
        container_format=core.get("container_format"),
        min_disk=core.get("min_disk", 0),
        min_ram=core.get("min_ram", 0),
        protected=core.get("protected", False),
        os_hidden=core.get("os_hidden", False),
        stores=[],
        created_at=created,
        updated_at=created,
    )
    db.add(image)
    _check_property_count(len(body.extra))
    image.properties = [ImageProperty(name=k, value=v) for k, v in body.extra.items()]
    tags = core.get("tags", [])
    _check_tag_count(len(tags))
    image.tags = [ImageTag(value=t) for t in tags]
    db.flush()
    return image


def _check_visibility_change(ctx: RequestContext, visibility: str) -> None:
    if visibility == "public" and not ctx.is_admin:
        raise Forbidden("You are not authorized to publicize images: only administrators may make an image public.")


def _check_tag_count(count: int) -> None:
    if count > MAX_TAGS:
        raise PayloadTooLarge(f"Maximum number of tags exceeded: an image may have at most {MAX_TAGS} tags.")


def _check_property_count(count: int) -> None:
    if count > MAX_PROPERTIES:
        raise PayloadTooLarge(f"Maximum number of properties exceeded: an image may have at most {MAX_PROPERTIES} properties.")


# -- update ---------------------------------------------------------------------------

# core properties that describe the data: fixed once data arrived
DATA_BOUND = ("disk_format", "container_format")


def update_image(db: Session, ctx: RequestContext, image: Image, ops: list[schemas.PatchOp], options: ImageSettings) -> Image:
    props = {p.name: p for p in image.properties}
    for op in ops:
        if op.name == "locations":
            locations.patch_locations(image, op.op, op.index, op.value, ctx, options)
        elif op.name in schemas.WRITABLE_CORE:
            _patch_core(ctx, image, op)
        else:
            _patch_custom(image, props, op)
    _check_property_count(len(image.properties))
    image.updated_at = now()
    db.flush()
    return image


def _patch_core(ctx: RequestContext, image: Image, op: schemas.PatchOp) -> None:
    name = op.name
    if op.op == "remove":
        raise Forbidden(f"Properties '{name}' cannot be removed: it is a core image property.")
    value = schemas.check_core_value(name, op.value)
    if name == "tags":
        _check_tag_count(len(value))
        image.tags = [ImageTag(value=t) for t in value]
        return
    if name == "visibility" and value != image.visibility:
        _check_visibility_change(ctx, value)
    if name == "owner" and value != image.owner and not ctx.is_admin:
        raise Forbidden("Only administrators may change the owner of an image.")
    if name in DATA_BOUND and image.status != QUEUED and value != getattr(image, name):
        raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    setattr(image, name, value)


def _patch_custom(image: Image, props: dict[str, ImageProperty], op: schemas.PatchOp) -> None:
    name = op.name
    schemas.check_property_name(name, action=op.op)
    existing = props.get(name)
    if op.op == "remove":
        if existing is None:
            raise Conflict(f"Property {name} does not exist.")
        image.properties.remove(existing)
        del props[name]
        return
    value = schemas.check_custom_value(name, op.value)
    if existing is None:
        if op.op == "replace":
            raise Conflict(f"Property {name} does not exist.")
        prop = ImageProperty(name=name, value=value)
        image.properties.append(prop)
        props[name] = prop
    else:
        existing.value = value


# -- delete, deactivate, tags -----------------------------------------------------------


def delete_image(db: Session, image: Image) -> list[str]:
    """Remove the image's row; returns the stores whose data the caller must delete."""
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
    stores = list(image.stores)
    db.delete(image)
    db.flush()
    return stores


def deactivate_image(image: Image) -> None:
    if image.status not in (ACTIVE, DEACTIVATED):
        raise BadRequest(f"Not allowed to deactivate image in status '{image.status}'")
    image.status = DEACTIVATED
    image.updated_at = now()


def reactivate_image(image: Image) -> None:
    if image.status not in (ACTIVE, DEACTIVATED):
        raise BadRequest(f"Not allowed to reactivate image in status '{image.status}'")
    image.status = ACTIVE
    image.updated_at = now()


def add_tag(image: Image, tag: str) -> None:
    tag = schemas.check_tag(tag)
    if any(t.value == tag for t in image.tags):
        return
    _check_tag_count(len(image.tags) + 1)
    image.tags.append(ImageTag(value=tag))
    image.updated_at = now()


def remove_tag(image: Image, tag: str) -> None:
    for row in image.tags:
        if row.value == tag:
            image.tags.remove(row)
            image.updated_at = now()
            return
    raise NotFound(f"Tag {tag} not found on image {image.id}.")


# -- list -----------------------------------------------------------------------------

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram", "virtual_size")
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
COMPARISONS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__", "neq": "__ne__"}
# query keys that are not property filters
RESERVED_QUERY = {"limit", "marker", "sort_key", "sort_dir", "sort", "visibility", "member_status", "tag", "size_min", "size_max", "created_at", "updated_at", "os_hidden"}
COLUMN_FILTERS = {"name", "status", "owner", "disk_format", "container_format", "id", "checksum", "os_hash_value", "protected"}


def list_images(db: Session, ctx: RequestContext, query: Mapping[str, str], multi: Mapping[str, list[str]], page: PageRequest) -> Any:
    stmt: Select[Any] = select(Image).where(_visible_in_list(ctx, query))
    for condition in _filters(query, multi):
        stmt = stmt.where(condition)
    order = _sort_order(query, multi)
    return paginate_ordered(db, stmt, Image.id, page, order)


def _visible_in_list(ctx: RequestContext, query: Mapping[str, str]) -> Any:
    visibility = query.get("visibility")
    if visibility is not None and visibility not in (*schemas.VISIBILITIES, "all"):
        raise BadRequest(f"Invalid visibility value: {visibility[:40]}")
    member_status = query.get("member_status", "accepted")
    if member_status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status value: {member_status[:40]}")
    statuses = None if member_status == "all" else (member_status,)
    mine = Image.owner == ctx.project_id
    shared_with_me = and_(Image.visibility == "shared", is_member_of(Image.id, ctx.project_id, statuses))
    if visibility is None:
        if ctx.is_admin:
            return true()
        # the default list: what the project owns, public images, and accepted shares
        return or_(mine, Image.visibility == "public", shared_with_me)
    by_visibility = true() if visibility == "all" else Image.visibility == visibility
    if ctx.is_admin and visibility != "shared":
        return by_visibility
    if visibility == "shared":
        # the project's own shared images and those shared with it (in member_status)
        return and_(Image.visibility == "shared", or_(mine, shared_with_me))
    if visibility == "private":
        return and_(by_visibility, mine)
    if visibility in ("public", "community"):
        return by_visibility
    return or_(mine, Image.visibility.in_(("public", "community")), shared_with_me)


def _filters(query: Mapping[str, str], multi: Mapping[str, list[str]]) -> list[Any]:
    out: list[Any] = []
    hidden = query.get("os_hidden")
    if hidden is None:
        out.append(Image.os_hidden.is_(False))
    elif hidden.lower() in ("true", "false"):
        out.append(Image.os_hidden.is_(hidden.lower() == "true"))
    else:
        raise BadRequest(f"Invalid value for os_hidden: {hidden[:40]}; use true or false.")
    for tag in multi.get("tag", []):
        out.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag))
    for bound, compare in (("size_min", "__ge__"), ("size_max", "__le__")):
        if bound in query:
            out.append(getattr(Image.size, compare)(_int_param(bound, query[bound])))
    for stamp in ("created_at", "updated_at"):
        if stamp in query:
            out.append(_time_filter(getattr(Image, stamp), stamp, query[stamp]))
    for key, value in query.items():
        if key in RESERVED_QUERY:
            continue
        if key in COLUMN_FILTERS:
            out.append(_column_filter(key, value))
        elif key in ("size", "min_ram", "min_disk", "virtual_size"):
            out.append(getattr(Image, key) == _int_param(key, value))
        else:
            out.append(_property_filter(key, value))
    return out


def _int_param(name: str, raw: str) -> int:
    if not raw.strip().lstrip("-").isdigit() or len(raw) > 20:
        raise BadRequest(f"Invalid value for {name}: {raw[:40]!r} is not an integer.")
    value = int(raw)
    if value < 0:
        raise BadRequest(f"Invalid value for {name}: it must not be negative.")
    return value


def _values(value: str) -> tuple[bool, list[str]]:
    """'in:a,b' -> (True, [a, b]); 'x' -> (False, [x])."""
    if value.startswith("in:"):
        return True, [v.strip('"') for v in value[3:].split(",")]
    return False, [value]


def _column_filter(key: str, value: str) -> Any:
    column = getattr(Image, key)
    if key == "protected":
        if value.lower() not in ("true", "false"):
            raise BadRequest(f"Invalid value for protected: {value[:40]}; use true or false.")
        return column.is_(value.lower() == "true")
    is_list, values = _values(value)
    if key == "name" and not is_list and value.startswith("eq:"):
        values = [value[3:]]
    return column.in_(values) if is_list else column == values[0]


def _property_filter(key: str, value: str) -> Any:
    is_list, values = _values(value)
    match = ImageProperty.value.in_(values) if is_list else ImageProperty.value == values[0]
    return exists().where(ImageProperty.image_id == Image.id, ImageProperty.name == key, match)


def _time_filter(column: Any, name: str, raw: str) -> Any:
    operator, _, stamp = raw.partition(":")
    if operator not in COMPARISONS or not stamp:
        raise BadRequest(f"Invalid {name} filter {raw[:60]!r}: use <operator>:<ISO 8601 time>, operator one of {', '.join(COMPARISONS)}.")
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid time {stamp[:40]!r} in the {name} filter.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return getattr(column, COMPARISONS[operator])(when)


def _sort_order(query: Mapping[str, str], multi: Mapping[str, list[str]]) -> list[tuple[Any, bool]]:
    keys: list[tuple[str, bool]] = []
    if "sort" in query:
        if "sort_key" in query or "sort_dir" in query:
            raise BadRequest("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.")
        for part in query["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            keys.append((key, _direction(direction or "desc")))
    else:
        sort_keys = [k for raw in multi.get("sort_key", []) for k in raw.split(",")] or ["created_at"]
        dirs = [_direction(d) for raw in multi.get("sort_dir", []) for d in raw.split(",")]
        if len(dirs) > 1 and len(dirs) != len(sort_keys):
            raise BadRequest("The number of sort_dir values must match the number of sort_key values.")
        for i, key in enumerate(sort_keys):
            keys.append((key.strip(), dirs[i] if len(dirs) > 1 else (dirs[0] if dirs else True)))
    order = []
    for key, descending in keys:
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key[:40]}. It is not one of: {', '.join(SORT_KEYS)}.")
        column = getattr(Image, key)
        nullable = key in ("name", "size", "virtual_size", "disk_format", "container_format", "owner")
        order.append((func.coalesce(column, -1 if key in ("size", "virtual_size") else "") if nullable else column, descending))
    if not any(key == "id" for key, _ in keys):
        order.append((Image.id, order[-1][1] if order else True))
    return order


def _direction(raw: str) -> bool:
    """True for descending."""
    if raw not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {raw[:20]}; use asc or desc.")
    return raw == "desc"

