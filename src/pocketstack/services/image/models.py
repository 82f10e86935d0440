"""The image service's tables: images with their custom properties, tags and members,
and the tasks that import data into them.

Metadata definitions (metadefs) keep their own tables in metadefs/models.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pocketstack.core.db import Base, JsonText, UtcDateTime, utcnow

# status names as Glance has them
QUEUED = "queued"
SAVING = "saving"
UPLOADING = "uploading"  # data staged, waiting for an import
IMPORTING = "importing"
ACTIVE = "active"
DEACTIVATED = "deactivated"
KILLED = "killed"


class Image(Base):
    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30), default=QUEUED)
    visibility: Mapped[str] = mapped_column(String(20), default="shared")
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # the stores holding the data ("local", ...), in the order they got it
    stores: Mapped[list[str]] = mapped_column(JsonText, default=list)
    # data elsewhere (the read-only http store): [{"url": ..., "metadata": {...}}, ...]
    locations: Mapped[list[dict[str, Any]]] = mapped_column(JsonText, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    properties: Mapped[list[ImageProperty]] = relationship(
        back_populates="image", cascade="all, delete-orphan", lazy="selectin", order_by="ImageProperty.name"
    )
    tags: Mapped[list[ImageTag]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="ImageTag.value")
    members: Mapped[list[ImageMember]] = relationship(cascade="all, delete-orphan", lazy="select")

    __table_args__ = (Index("ix_images_visibility_status", "visibility", "status"),)

    @property
    def extra(self) -> dict[str, str]:
        return {p.name: p.value for p in self.properties}


class ImageProperty(Base):
    """A custom (non-core) property: Glance keeps them as strings, one row each, so
    that `GET /v2/images?os_distro=debian` can filter in SQL."""

    __tablename__ = "image_properties"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    image: Mapped[Image] = relationship(back_populates="properties")

    __table_args__ = (Index("ix_image_properties_name_value", "name", "value"),)


class ImageTag(Base):
    __tablename__ = "image_tags"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ImageMember(Base):
    """A project an image is shared with, and whether that project accepted it."""

    __tablename__ = "image_members"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Task(Base):
    """An import (or other long job) run outside the request that asked for it."""

    __tablename__ = "image_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), default="pending")
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    image_id: Mapped[str | None] = mapped_column(String(36), index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    input: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonText)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
