"""Servers (Nova's instances), their metadata and tags, and the instance-action log.

A server row is both the desired state and the observed one, as Nova keeps it:
`vm_state` is where the server is, `task_state` the operation the API asked for and
the agent has not finished (None when there is none), `power_state` what the
hypervisor last reported. The compute agent works on rows whose task_state is set and
clears it when done; `task_args` carries what that operation needs (reboot type,
snapshot image id, new flavor...).

Deleted servers stay as rows with `deleted` set (Nova's soft delete): admins list them
with `deleted=true`, and `changes-since` shows them, until they are purged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pocketstack.core.db import Base, JsonText, UtcDateTime, utcnow


class Server(Base):
    __tablename__ = "compute_servers"
    __table_args__ = (
        Index("ix_compute_servers_project_deleted", "project_id", "deleted"),
        Index("ix_compute_servers_host_task", "host", "task_state"),
    )

    # Nova's instances have an integer id and a uuid; the uuid is the only one anyone sees
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str] = mapped_column(String(255))

    image_ref: Mapped[str] = mapped_column(String(255), default="")  # "" for a volume-backed server
    # the flavor as it was when the server was made (Nova embeds a copy: later flavor
    # changes or deletion do not touch running servers); during a resize, the other one
    flavor: Mapped[dict[str, Any]] = mapped_column(JsonText)
    flavor_id: Mapped[str] = mapped_column(String(255))  # flavor["id"], for the list filter
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JsonText)
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(JsonText)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)

    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)  # base64, as given
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    access_ip_v4: Mapped[str | None] = mapped_column(String(39))
    access_ip_v6: Mapped[str | None] = mapped_column(String(39))

    vm_state: Mapped[str] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    task_args: Mapped[dict[str, Any] | None] = mapped_column(JsonText)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # {"code", "message", "details", "created"} of the last failure (Nova's instance fault)
    fault: Mapped[dict[str, Any] | None] = mapped_column(JsonText)

    availability_zone: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    server_group_id: Mapped[str | None] = mapped_column(String(36))
    reservation_id: Mapped[str] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)

    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(10))  # "owner" or "admin"
    locked_reason: Mapped[str | None] = mapped_column(String(255))

    security_groups: Mapped[list[str]] = mapped_column(JsonText, default=list)
    requested_networks: Mapped[Any | None] = mapped_column(JsonText)  # "auto", "none", a list of requests, or None
    block_device_mapping: Mapped[list[dict[str, Any]]] = mapped_column(JsonText, default=list)
    scheduler_hints: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    # Nova's system_metadata: image properties at boot (image_*), shelve and rescue bookkeeping
    system_metadata: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)

    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    launched_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    metadata_items: Mapped[list[ServerMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServerMetadata.key"
    )
    tag_items: Mapped[list[ServerTag]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="ServerTag.tag")

    @property
    def metadata_dict(self) -> dict[str, str]:
        return {item.key: item.value for item in self.metadata_items}

    @property
    def tags(self) -> list[str]:
        return [item.tag for item in self.tag_items]


class ServerMetadata(Base):
    __tablename__ = "compute_server_metadata"

    server_id: Mapped[int] = mapped_column(ForeignKey("compute_servers.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ServerTag(Base):
    __tablename__ = "compute_server_tags"

    server_id: Mapped[int] = mapped_column(ForeignKey("compute_servers.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)


class InstanceAction(Base):
    """One API request that acted on a server (os-instance-actions), with its events."""

    __tablename__ = "compute_instance_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_uuid: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    message: Mapped[str | None] = mapped_column(String(255))  # "Error" once an event failed
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    events: Mapped[list[InstanceActionEvent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceActionEvent.id"
    )


class InstanceActionEvent(Base):
    __tablename__ = "compute_instance_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))  # e.g. "compute__do_build_and_run_instance"
    start_time: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[str | None] = mapped_column(String(255))  # "Success" or "Error"
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
