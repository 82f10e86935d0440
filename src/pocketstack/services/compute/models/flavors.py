"""Flavors with their extra specs and project access, and keypairs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pocketstack.core.db import Base, UtcDateTime, utcnow


class Flavor(Base):
    """A server size. `flavorid` is the id clients see (a string: "1", "m1.tiny" or a UUID)."""

    __tablename__ = "compute_flavors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)  # MiB
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="FlavorExtraSpec.key")
    projects: Mapped[list[FlavorProject]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="FlavorProject.project_id")


class FlavorExtraSpec(Base):
    __tablename__ = "compute_flavor_extra_specs"

    flavor_id: Mapped[int] = mapped_column(ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    """A project given access to a private flavor."""

    __tablename__ = "compute_flavor_projects"

    flavor_id: Mapped[int] = mapped_column(ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class KeyPair(Base):
    __tablename__ = "compute_key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(10), default="ssh")  # "ssh" or "x509"
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
