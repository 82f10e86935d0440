"""Tables the scheduler consults besides hosts: server groups (affinity policies),
host aggregates (with availability zones as aggregate metadata, as in Nova) and
per-project quota limits (Nova's os-quota-sets; defaults come from settings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pocketstack.core.db import Base, JsonText, UtcDateTime, utcnow


class ServerGroup(Base):
    __tablename__ = "compute_server_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    # "affinity", "anti-affinity", "soft-affinity" or "soft-anti-affinity"
    policy: Mapped[str] = mapped_column(String(255))
    rules: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)  # {"max_server_per_host": n}
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    members: Mapped[list[ServerGroupMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServerGroupMember.server_uuid"
    )


class ServerGroupMember(Base):
    __tablename__ = "compute_server_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("compute_server_groups.id", ondelete="CASCADE"), primary_key=True)
    server_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)


class Aggregate(Base):
    __tablename__ = "compute_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    hosts: Mapped[list[AggregateHost]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="AggregateHost.host")
    metadata_items: Mapped[list[AggregateMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AggregateMetadata.key"
    )


class AggregateHost(Base):
    __tablename__ = "compute_aggregate_hosts"

    aggregate_id: Mapped[int] = mapped_column(ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)


class AggregateMetadata(Base):
    """Key-value pairs of an aggregate; the key "availability_zone" names its hosts' zone."""

    __tablename__ = "compute_aggregate_metadata"

    aggregate_id: Mapped[int] = mapped_column(ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Quota(Base):
    """A limit set for one project (user_id "") or one user in it; absent: the default."""

    __tablename__ = "compute_quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
