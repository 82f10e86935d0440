"""Tables of the metadefs catalog.

A namespace owns its objects, properties and tags (deleted with it) and is linked to
resource types ("OS::Glance::Image", ...) through associations that may carry a
property-name prefix. Names are unique where Glance makes them unique: a namespace
across the cloud, an object, property or tag within its namespace, a resource type
across the cloud; the database enforces it.

Children point at the namespace by an integer id, so renaming a namespace (PUT with a
new `namespace`) touches one row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pocketstack.core.db import Base, JsonText, UtcDateTime, utcnow

NAME_LENGTH = 80  # Glance's limit for every metadef name


class MetadefNamespace(Base):
    __tablename__ = "metadef_namespaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    # the owning project; a namespace without one is visible to everybody (as in Glance)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class MetadefObject(Base):
    __tablename__ = "metadef_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    # names of the properties an instance of the object must have
    required: Mapped[list[str]] = mapped_column(JsonText, default=list)
    # property name -> property definition (the same shape as a namespace property)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class MetadefProperty(Base):
    __tablename__ = "metadef_properties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # the definition without its name: title, type, enum, default, minimum, ...
    definition: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class MetadefTag(Base):
    __tablename__ = "metadef_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class MetadefResourceType(Base):
    """A kind of resource metadata can describe. The defaults are seeded (protected);
    associating a namespace with an unknown name creates one, as Glance does."""

    __tablename__ = "metadef_resource_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class MetadefNamespaceResourceType(Base):
    """A namespace applies to a resource type; `prefix` is prepended to its property
    names for that resource type (e.g. "hw_" on images, "hw:" on flavors)."""

    __tablename__ = "metadef_namespace_resource_types"

    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(ForeignKey("metadef_resource_types.id"), primary_key=True, index=True)
    prefix: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    properties_target: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
