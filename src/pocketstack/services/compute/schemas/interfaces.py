"""Request body of POST /servers/{id}/os-interface (Nova's attach_interfaces schema):

    {"interfaceAttachment": {"port_id" | "net_id", "fixed_ips": [{"ip_address"}], "tag"}}

Everything is optional (no port and no network: the project's one network); one fixed IP
at most; `tag` from 2.49."""

from __future__ import annotations

import ipaddress
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

TAG_PATTERN = r"^[^,/]*$"


class FixedIp(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    ip_address: str

    @field_validator("ip_address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        ipaddress.ip_address(value)  # ValueError: not an address
        return value


class InterfaceAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    port_id: str | None = None
    net_id: str | None = None
    fixed_ips: list[FixedIp] | None = Field(default=None, min_length=1, max_length=1)

    @field_validator("port_id", "net_id")
    @classmethod
    def _a_uuid(cls, value: str | None) -> str | None:
        if value is not None:
            uuid.UUID(value)  # ValueError: not a UUID
        return value


class TaggedInterfaceAttachment(InterfaceAttachment):
    tag: str | None = Field(default=None, max_length=60, pattern=TAG_PATTERN)


class AttachBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    interfaceAttachment: InterfaceAttachment = Field(default_factory=InterfaceAttachment)


class TaggedAttachBody(AttachBody):
    interfaceAttachment: TaggedInterfaceAttachment = Field(default_factory=TaggedInterfaceAttachment)
