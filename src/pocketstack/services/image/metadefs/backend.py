"""The rules of the metadefs catalog: who sees which namespace, what a protected
namespace refuses, how names stay unique, how resource types come to exist.

Every function works inside the caller's transaction (a Session). Uniqueness is the
database's (unique constraints); the checks here only find duplicates first so that the
409 can say which name clashed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, false, or_, select, true
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import Conflict, Forbidden, NotFound
from pocketstack.core.pagination import Page, PageRequest, paginate

from .models import (
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from .schemas import AssociationBody, NamedPropertyDefinition, NamespaceBody, ObjectDefinition, PropertyDefinition

# The resource types Glance's own catalog (etc/metadefs) associates namespaces with;
# a deployment has them from the start. Glance images first: clients that take "the
# first resource type" (Tempest does) then pick the one this cloud is about.
DEFAULT_RESOURCE_TYPES = (
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
    "OS::Trove::Instance",
)

NAMESPACE_SORT_KEYS = ("namespace", "created_at", "updated_at")
TAG_SORT_KEYS = ("name", "created_at", "updated_at")


# -- namespaces: visibility and lookup ------------------------------------------------


def visible_to(ctx: RequestContext) -> Any:
    """SQL: the namespaces this caller may know about. Admins see all; others see
    public ones, their project's, and those without an owner (as Glance's database
    layer decides; policy then decides what they may do)."""
    if ctx.is_admin:
        return true()
    mine = MetadefNamespace.owner == ctx.project_id if ctx.project_id else false()
    return or_(MetadefNamespace.visibility == "public", MetadefNamespace.owner.is_(None), mine)


def policy_target(namespace: MetadefNamespace) -> dict[str, Any]:
    return {"owner": namespace.owner, "visibility": namespace.visibility, "namespace": namespace.namespace}


def namespace_not_found(name: str) -> NotFound:
    return NotFound(f"Metadata definition namespace={name} was not found.")


def get_namespace(db: Session, ctx: RequestContext, name: str) -> MetadefNamespace:
    found = db.scalars(select(MetadefNamespace).where(MetadefNamespace.namespace == name, visible_to(ctx))).first()
    if found is None:
        raise namespace_not_found(name)
    return found


def _refuse_if_protected(namespace: MetadefNamespace, what: str) -> None:
    """A protected namespace keeps its content: nothing in it may be deleted."""
    if namespace.protected:
        raise Forbidden(f"{what} is protected and cannot be deleted.")


# -- namespaces: listing ------------------------------------------------------------


def list_namespaces(
    db: Session,
    ctx: RequestContext,
    *,
    visibility: str | None,
    resource_types: list[str],
    sort_key: str,
    sort_dir: str,
) -> list[MetadefNamespace]:
    """Every namespace the caller may see that passes the filters, in list order
    (sort key, then creation, then id; all in `sort_dir`)."""
    stmt = select(MetadefNamespace).where(visible_to(ctx))
    if visibility is not None:
        stmt = stmt.where(MetadefNamespace.visibility == visibility)
    if resource_types:
        associated = (
            select(MetadefNamespaceResourceType.namespace_id)
            .join(MetadefResourceType, MetadefResourceType.id == MetadefNamespaceResourceType.resource_type_id)
            .where(MetadefResourceType.name.in_(resource_types))
        )
        stmt = stmt.where(MetadefNamespace.id.in_(associated))
    columns = [getattr(MetadefNamespace, sort_key), MetadefNamespace.created_at, MetadefNamespace.id]
    return list(db.scalars(_ordered(stmt, columns, sort_dir)))


def _ordered(stmt: Select[Any], columns: list[Any], sort_dir: str) -> Select[Any]:
    unique_columns = list(dict.fromkeys(columns))
    return stmt.order_by(*[c.desc() if sort_dir == "desc" else c.asc() for c in unique_columns])


def page_of(rows: list[Any], key_name: str, limit: int, marker: str | None, missing: NotFound) -> Page[Any]:
    """One page of rows already in list order; the marker is the name of the last row
    of the previous page (404 if no such row, as Glance answers). A limit of 0 gives
    an empty page, as Glance's LIMIT 0 does."""
    if marker is not None and not any(getattr(row, key_name) == marker for row in rows):
        raise missing
    request = PageRequest(limit=limit, marker=marker)
    if limit == 0:
        return Page([], request, has_next=False, has_previous=marker is not None)
    return paginate(rows, request, key=lambda row: getattr(row, key_name))


def associations_of(db: Session, namespace_ids: Iterable[int]) -> dict[int, list[tuple[MetadefNamespaceResourceType, str]]]:
    """namespace id -> [(association, resource type name)], in association order."""
    ids = list(namespace_ids)
    found: dict[int, list[tuple[MetadefNamespaceResourceType, str]]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.execute(
        select(MetadefNamespaceResourceType, MetadefResourceType.name)
        .join(MetadefResourceType, MetadefResourceType.id == MetadefNamespaceResourceType.resource_type_id)
        .where(MetadefNamespaceResourceType.namespace_id.in_(ids))
        .order_by(MetadefNamespaceResourceType.created_at, MetadefResourceType.id)
    )
    for association, name in rows:
        found[association.namespace_id].append((association, name))
    return found


# -- namespaces: contents -------------------------------------------------------------


@dataclass
class Contents:
    """Everything inside one namespace, for its detailed view."""

    associations: list[tuple[MetadefNamespaceResourceType, str]] = field(default_factory=list)
    properties: list[MetadefProperty] = field(default_factory=list)
    objects: list[MetadefObject] = field(default_factory=list)
    tags: list[MetadefTag] = field(default_factory=list)


def contents_of(db: Session, namespace: MetadefNamespace) -> Contents:
    return Contents(
        associations=associations_of(db, [namespace.id])[namespace.id],
        properties=list_properties(db, namespace),
        objects=list_objects(db, namespace),
        tags=list_tags(db, namespace, sort_key="created_at", sort_dir="asc"),
    )


def prefix_for(associations: list[tuple[MetadefNamespaceResourceType, str]], resource_type: str | None) -> str | None:
    """The property-name prefix the namespace uses for that resource type, if any."""
    for association, name in associations:
        if name == resource_type:
            return association.prefix
    return None


# -- namespaces: changes --------------------------------------------------------------


def create_namespace(db: Session, ctx: RequestContext, body: NamespaceBody) -> tuple[MetadefNamespace, Contents]:
    """A namespace and, in the same transaction, whatever the body puts in it."""
    _refuse_taken_namespace(db, body.namespace)
    now = utcnow()
    namespace = MetadefNamespace(
        namespace=body.namespace,
        display_name=body.display_name,
        description=body.description,
        visibility=body.visibility or "private",
        protected=bool(body.protected),
        owner=body.owner if body.owner is not None else ctx.project_id,
        created_at=now,
        updated_at=now,
    )
    db.add(namespace)
    db.flush()
    contents = Contents()
    for association in body.resource_type_associations or []:
        contents.associations.append(create_association(db, namespace, association))
    for name, definition in (body.properties or {}).items():
        contents.properties.append(_add_property(db, namespace, name, definition))
    for definition in body.objects or []:
        contents.objects.append(create_object(db, namespace, definition))
    tag_names = [tag.name for tag in body.tags or []]
    _refuse_repeated(tag_names, namespace, "tag")
    contents.tags.extend(_add_tags(db, namespace, tag_names))
    return namespace, contents


def update_namespace(db: Session, ctx: RequestContext, namespace: MetadefNamespace, body: NamespaceBody) -> MetadefNamespace:
    """PUT replaces the namespace's own fields; what the body leaves out goes back to
    its default (Glance's rule). Objects, properties, tags in the body are ignored."""
    if body.namespace != namespace.namespace:
        _refuse_taken_namespace(db, body.namespace)
    namespace.namespace = body.namespace
    namespace.display_name = body.display_name
    namespace.description = body.description
    namespace.visibility = body.visibility or "private"
    namespace.protected = bool(body.protected)
    namespace.owner = body.owner if body.owner is not None else ctx.project_id
    namespace.updated_at = utcnow()
    db.flush()
    return namespace


def _refuse_taken_namespace(db: Session, name: str) -> None:
    # every namespace counts here, visible or not: the name is unique cloud-wide
    if db.scalars(select(MetadefNamespace.id).where(MetadefNamespace.namespace == name)).first() is not None:
        raise Conflict(f"The metadata definition namespace={name} already exists.")


def delete_namespace(db: Session, namespace: MetadefNamespace) -> None:
    _refuse_if_protected(namespace, f"Metadata definition namespace {namespace.namespace}")
    for table in (MetadefObject, MetadefProperty, MetadefTag, MetadefNamespaceResourceType):
        db.execute(delete(table).where(table.namespace_id == namespace.id))
    db.delete(namespace)
    db.flush()


def delete_all_objects(db: Session, namespace: MetadefNamespace) -> None:
    _refuse_if_protected(namespace, f"Metadata definition namespace {namespace.namespace}")
    db.execute(delete(MetadefObject).where(MetadefObject.namespace_id == namespace.id))


def delete_all_properties(db: Session, namespace: MetadefNamespace) -> None:
    _refuse_if_protected(namespace, f"Metadata definition namespace {namespace.namespace}")
    db.execute(delete(MetadefProperty).where(MetadefProperty.namespace_id == namespace.id))


def delete_all_tags(db: Session, namespace: MetadefNamespace) -> None:
    _refuse_if_protected(namespace, f"Metadata definition namespace {namespace.namespace}")
    db.execute(delete(MetadefTag).where(MetadefTag.namespace_id == namespace.id))


def _refuse_repeated(names: list[str], namespace: MetadefNamespace, kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise Conflict(f"A metadata definition {kind} with name={name} already exists in namespace={namespace.namespace}.")
        seen.add(name)


# -- objects --------------------------------------------------------------------------


def list_objects(db: Session, namespace: MetadefNamespace) -> list[MetadefObject]:
    stmt = select(MetadefObject).where(MetadefObject.namespace_id == namespace.id)
    return list(db.scalars(stmt.order_by(MetadefObject.created_at, MetadefObject.id)))


def get_object(db: Session, namespace: MetadefNamespace, name: str) -> MetadefObject:
    found = _child(db, MetadefObject, namespace, name)
    if found is None:
        raise NotFound(f"The metadata definition object with name={name} was not found in namespace={namespace.namespace}.")
    return found


def create_object(db: Session, namespace: MetadefNamespace, body: ObjectDefinition) -> MetadefObject:
    _refuse_taken_child(db, MetadefObject, namespace, body.name, "object")
    now = utcnow()
    row = MetadefObject(namespace_id=namespace.id, name=body.name, created_at=now, updated_at=now)
    _fill_object(row, body)
    db.add(row)
    db.flush()
    return row


def update_object(db: Session, namespace: MetadefNamespace, row: MetadefObject, body: ObjectDefinition) -> MetadefObject:
    """PUT replaces the whole object, name included."""
    if body.name != row.name:
        _refuse_taken_child(db, MetadefObject, namespace, body.name, "object")
    row.name = body.name
    _fill_object(row, body)
    row.updated_at = utcnow()
    db.flush()
    return row


def _fill_object(row: MetadefObject, body: ObjectDefinition) -> None:
    row.description = body.description
    row.required = list(body.required or [])
    row.properties = {name: definition.stored() for name, definition in (body.properties or {}).items()}


def delete_object(db: Session, namespace: MetadefNamespace, row: MetadefObject) -> None:
    _refuse_if_protected(namespace, f"Metadata definition object {row.name}")
    db.delete(row)
    db.flush()


# -- properties -----------------------------------------------------------------------


def list_properties(db: Session, namespace: MetadefNamespace) -> list[MetadefProperty]:
    stmt = select(MetadefProperty).where(MetadefProperty.namespace_id == namespace.id)
    return list(db.scalars(stmt.order_by(MetadefProperty.id)))


def get_property(db: Session, namespace: MetadefNamespace, name: str, resource_type: str | None = None) -> MetadefProperty:
    """A property by name; with a resource type, `name` carries that type's prefix
    (e.g. hw_cpu_cores for the property cpu_cores of an image namespace)."""
    if resource_type:
        association = _association(db, namespace, resource_type)
        prefix = association.prefix
        if not prefix or not name.startswith(prefix):
            raise NotFound(f"Property {name} does not start with the expected resource type association prefix of '{prefix}'.")
        name = name[len(prefix) :]
    found = _child(db, MetadefProperty, namespace, name)
    if found is None:
        raise NotFound(f"The metadata definition property with name={name} was not found in namespace={namespace.namespace}.")
    return found


def create_property(db: Session, namespace: MetadefNamespace, body: NamedPropertyDefinition) -> MetadefProperty:
    return _add_property(db, namespace, body.name, body)


def _add_property(db: Session, namespace: MetadefNamespace, name: str, definition: PropertyDefinition) -> MetadefProperty:
    _refuse_taken_child(db, MetadefProperty, namespace, name, "property")
    now = utcnow()
    row = MetadefProperty(namespace_id=namespace.id, name=name, definition=definition.stored(), created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    return row


def update_property(db: Session, namespace: MetadefNamespace, row: MetadefProperty, body: NamedPropertyDefinition) -> MetadefProperty:
    """PUT replaces the definition, name included."""
    if body.name != row.name:
        _refuse_taken_child(db, MetadefProperty, namespace, body.name, "property")
    row.name = body.name
    row.definition = body.stored()
    row.updated_at = utcnow()
    db.flush()
    return row


def delete_property(db: Session, namespace: MetadefNamespace, row: MetadefProperty) -> None:
    _refuse_if_protected(namespace, f"Metadata definition property {row.name}")
    db.delete(row)
    db.flush()


# -- tags -----------------------------------------------------------------------------


def list_tags(db: Session, namespace: MetadefNamespace, *, sort_key: str, sort_dir: str) -> list[MetadefTag]:
    stmt = select(MetadefTag).where(MetadefTag.namespace_id == namespace.id)
    columns = [getattr(MetadefTag, sort_key), MetadefTag.created_at, MetadefTag.id]
    return list(db.scalars(_ordered(stmt, columns, sort_dir)))


def get_tag(db: Session, namespace: MetadefNamespace, name: str) -> MetadefTag:
    found = _child(db, MetadefTag, namespace, name)
    if found is None:
        raise tag_not_found(namespace, name)
    return found


def tag_not_found(namespace: MetadefNamespace, name: str) -> NotFound:
    return NotFound(f"The metadata definition tag with name={name} was not found in namespace={namespace.namespace}.")


def create_tag(db: Session, namespace: MetadefNamespace, name: str) -> MetadefTag:
    return _add_tags(db, namespace, [name])[0]


def set_tags(db: Session, namespace: MetadefNamespace, names: list[str], *, append: bool) -> list[MetadefTag]:
    """POST .../tags: the namespace's tags become `names` (or gain them, with append).
    An empty list changes nothing, as in Glance."""
    if not names:
        return []
    if not append:
        db.execute(delete(MetadefTag).where(MetadefTag.namespace_id == namespace.id))
    return _add_tags(db, namespace, names)


def _add_tags(db: Session, namespace: MetadefNamespace, names: list[str]) -> list[MetadefTag]:
    for name in names:
        _refuse_taken_child(db, MetadefTag, namespace, name, "tag")
    now = utcnow()
    rows = [MetadefTag(namespace_id=namespace.id, name=name, created_at=now, updated_at=now) for name in names]
    db.add_all(rows)
    db.flush()
    return rows


def rename_tag(db: Session, namespace: MetadefNamespace, row: MetadefTag, name: str) -> MetadefTag:
    if name != row.name:
        _refuse_taken_child(db, MetadefTag, namespace, name, "tag")
    row.name = name
    row.updated_at = utcnow()
    db.flush()
    return row


def delete_tag(db: Session, namespace: MetadefNamespace, row: MetadefTag) -> None:
    _refuse_if_protected(namespace, f"Metadata definition tag {row.name}")
    db.delete(row)
    db.flush()


# -- objects, properties and tags share name lookups ----------------------------------

Child = type[MetadefObject] | type[MetadefProperty] | type[MetadefTag]


def _child(db: Session, table: Child, namespace: MetadefNamespace, name: str) -> Any:
    return db.scalars(select(table).where(table.namespace_id == namespace.id, table.name == name)).first()


def _refuse_taken_child(db: Session, table: Child, namespace: MetadefNamespace, name: str, kind: str) -> None:
    if _child(db, table, namespace, name) is not None:
        raise Conflict(f"A metadata definition {kind} with name={name} already exists in namespace={namespace.namespace}.")


# -- resource types -------------------------------------------------------------------


def list_resource_types(db: Session) -> list[MetadefResourceType]:
    return list(db.scalars(select(MetadefResourceType).order_by(MetadefResourceType.id)))


def _resource_type(db: Session, name: str) -> MetadefResourceType | None:
    return db.scalars(select(MetadefResourceType).where(MetadefResourceType.name == name)).first()


def _association(db: Session, namespace: MetadefNamespace, resource_type: str) -> MetadefNamespaceResourceType:
    found = db.scalars(
        select(MetadefNamespaceResourceType)
        .join(MetadefResourceType, MetadefResourceType.id == MetadefNamespaceResourceType.resource_type_id)
        .where(MetadefNamespaceResourceType.namespace_id == namespace.id, MetadefResourceType.name == resource_type)
    ).first()
    if found is None:
        raise NotFound(
            f"The metadata definition resource-type association of resource-type={resource_type} "
            f"to namespace={namespace.namespace}, was not found."
        )
    return found


def create_association(db: Session, namespace: MetadefNamespace, body: AssociationBody) -> tuple[MetadefNamespaceResourceType, str]:
    """Associate the namespace with a resource type, creating the type if it is new."""
    now = utcnow()
    resource_type = _resource_type(db, body.name)
    if resource_type is None:
        resource_type = MetadefResourceType(name=body.name, protected=False, created_at=now, updated_at=now)
        db.add(resource_type)
        db.flush()
    elif db.get(MetadefNamespaceResourceType, (namespace.id, resource_type.id)) is not None:
        raise Conflict(
            f"The metadata definition resource-type association of resource-type={body.name} "
            f"to namespace={namespace.namespace}, already exists."
        )
    association = MetadefNamespaceResourceType(
        namespace_id=namespace.id,
        resource_type_id=resource_type.id,
        prefix=body.prefix,
        properties_target=body.properties_target,
        created_at=now,
        updated_at=now,
    )
    db.add(association)
    db.flush()
    return association, resource_type.name


def delete_association(db: Session, namespace: MetadefNamespace, resource_type: str) -> None:
    try:
        association = _association(db, namespace, resource_type)
    except NotFound:
        raise NotFound(f"Failed to find resource type {resource_type} to delete") from None
    _refuse_if_protected(namespace, f"Metadata definition resource-type-association {resource_type}")
    db.delete(association)
    db.flush()


def seed_resource_types(db: Session) -> int:
    """Make the default resource types exist; returns how many were added. Idempotent."""
    have = set(db.scalars(select(MetadefResourceType.name).where(MetadefResourceType.name.in_(DEFAULT_RESOURCE_TYPES))))
    now = utcnow()
    missing = [name for name in DEFAULT_RESOURCE_TYPES if name not in have]
    db.add_all(MetadefResourceType(name=name, protected=True, created_at=now, updated_at=now) for name in missing)
    db.flush()
    return len(missing)
