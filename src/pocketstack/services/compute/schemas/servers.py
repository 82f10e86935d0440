"""Request bodies of the servers API (nova/api/openstack/compute/schemas/servers.py).

One model carries every field; `check_for_version` refuses what the request's
microversion does not know yet (Nova's schemas are versioned the same way: a field
from a later version is an "additional property" before it). Unknown fields are 400s."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pocketstack.core.faults import BadRequest
from pocketstack.core.microversions import Version

USER_DATA_MAX_BYTES = 65535  # Nova's limit on the base64 text
TAG_PATTERN = re.compile(r"^[^,/]{1,60}$")
# Nova's hostname (2.90-2.93): 2 to 63 letters, digits and inner hyphens; from 2.94 an
# FQDN-like name of 1 to 255 letters, digits, '-', '.' and '_'
HOSTNAME_PATTERN = re.compile(r"^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$")
FQDN_PATTERN = re.compile(r"^[a-zA-Z0-9-._]*$")
MAX_TAGS = 50

# field -> the microversion that introduced it
FIELD_SINCE = {
    "description": "2.19",
    "tags": "2.52",
    "trusted_image_certificates": "2.63",
    "host": "2.74",
    "hypervisor_hostname": "2.74",
    "hostname": "2.90",
}


def _name(value: str, what: str = "name") -> str:
    if not value.strip():
        raise ValueError(f"{what} may not be blank")
    if value != value.strip():
        raise ValueError(f"{what} may not begin or end with whitespace")
    return value


def check_metadata(value: Any) -> dict[str, str]:
    """Nova's metadata schema: string keys 1-255, string values 0-255."""
    if not isinstance(value, dict):
        raise ValueError("metadata must be an object")
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise ValueError("metadata keys must be strings of 1 to 255 characters")
        if not isinstance(item, str) or len(item) > 255:
            raise ValueError(f"metadata value of {key!r} must be a string of at most 255 characters")
    return value


def canonical_access_ip(value: str | None, field: str) -> str | None:
    """accessIPv4/accessIPv6 must be an address of that family; Nova keeps the canonical
    form ("0000::babe:220.12.22.2" becomes "::babe:dc0c:1602")."""
    if value in (None, ""):
        return value
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid IP address") from None
    wanted = 4 if field == "accessIPv4" else 6
    if address.version != wanted:
        raise ValueError(f"{value!r} is not an IPv{wanted} address")
    return str(address)


def check_hostname(value: Any, version: Version) -> None:
    """The hostname field as the request's microversion knows it (400 otherwise)."""
    if version >= "2.94":
        if not isinstance(value, str) or not 1 <= len(value) <= 255 or not FQDN_PATTERN.match(value):
            raise BadRequest(
                f"Invalid input for field/attribute hostname. Value: {value}. It must be a host name of 1 to 255 letters, digits, '-', '.' and '_'"
            )
        return
    if not isinstance(value, str) or not 2 <= len(value) <= 63 or not HOSTNAME_PATTERN.match(value):
        raise BadRequest(
            f"Invalid input for field/attribute hostname. Value: {value}. It must be an RFC 1123 host name of 2 to 63 characters"
        )


def decode_user_data(value: str) -> bytes:
    if len(value) > USER_DATA_MAX_BYTES:
        raise ValueError(f"user_data is longer than {USER_DATA_MAX_BYTES} characters")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("user_data is not valid base64") from None


class NetworkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uuid: str | None = None
    port: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


class BlockDeviceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_type: str = "image"
    destination_type: str | None = None
    uuid: str | None = None
    boot_index: int | str | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None
    device_type: str | None = None
    disk_bus: str | None = None
    guest_format: str | None = None
    no_device: bool | None = None
    tag: str | None = None
    volume_type: str | None = None


class SecurityGroupRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)


class ServerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=255)
    imageRef: str | None = None  # noqa: N815 - Nova's wire name
    flavorRef: str | int  # noqa: N815
    adminPass: str | None = None  # noqa: N815
    metadata: dict[str, Any] = Field(default_factory=dict)
    networks: str | list[NetworkRequest] | None = None
    disk_config: str | None = Field(default=None, alias="OS-DCF:diskConfig")
    accessIPv4: str | None = None  # noqa: N815
    accessIPv6: str | None = None  # noqa: N815
    availability_zone: str | None = Field(default=None, min_length=1, max_length=255)
    key_name: str | None = Field(default=None, min_length=1, max_length=255)
    user_data: str | None = None
    config_drive: bool | str | None = None
    security_groups: list[SecurityGroupRef] | None = None
    min_count: int | str = 1
    max_count: int | str | None = None
    return_reservation_id: bool = False
    block_device_mapping_v2: list[BlockDeviceMapping] | None = None
    block_device_mapping: list[dict[str, Any]] | None = None
    description: str | None = Field(default=None, max_length=255)
    tags: list[str] | None = None
    trusted_image_certificates: list[str] | None = None
    host: str | None = None
    hypervisor_hostname: str | None = None
    hostname: str | None = None
    personality: list[dict[str, Any]] | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        return _name(value)

    @field_validator("metadata")
    @classmethod
    def _metadata_ok(cls, value: Any) -> dict[str, str]:
        return check_metadata(value)

    @field_validator("user_data")
    @classmethod
    def _user_data_ok(cls, value: str | None) -> str | None:
        if value is not None:
            decode_user_data(value)
        return value

    @field_validator("min_count", "max_count")
    @classmethod
    def _count_ok(cls, value: int | str | None) -> int | None:
        if value is None:
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError("must be an integer") from None
        if number < 1:
            raise ValueError("must be at least 1")
        return number

    @field_validator("tags")
    @classmethod
    def _tags_ok(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            check_tags(value)
        return value

    @field_validator("accessIPv4", "accessIPv6")
    @classmethod
    def _ip_ok(cls, value: str | None, info: Any) -> str | None:
        return canonical_access_ip(value, info.field_name)

    @model_validator(mode="after")
    def _counts_agree(self) -> ServerCreate:
        if self.max_count is not None and int(self.min_count) > int(self.max_count):
            raise ValueError("min_count must be <= max_count")
        return self

    @property
    def wants_config_drive(self) -> bool:
        if isinstance(self.config_drive, str):
            return self.config_drive.strip().lower() in ("true", "1", "yes", "on", "t")
        return bool(self.config_drive)

    def check_for_version(self, version: Version) -> None:
        given = self.model_fields_set
        for field, since in FIELD_SINCE.items():
            if field in given and not version >= since:
                raise BadRequest(
                    f"Invalid input for field/attribute server. Additional properties are not allowed ('{field}' was unexpected)"
                )
        if "hostname" in given:
            check_hostname(self.hostname, version)
            if self.max_count is not None and int(self.max_count) > 1:
                raise BadRequest("Unable to allocate a single hostname to multiple instances")
        if "personality" in given and version >= "2.57":
            raise BadRequest(
                "Invalid input for field/attribute server. Additional properties are not allowed ('personality' was unexpected)"
            )
        if version >= "2.37" and self.networks is None:
            raise BadRequest("Invalid input for field/attribute server. 'networks' is a required property")
        if isinstance(self.networks, str) and (self.networks not in ("auto", "none") or not version >= "2.37"):
            raise BadRequest(
                f"Invalid input for field/attribute networks. Value: {self.networks}. {self.networks!r} is not of type 'array'"
            )


def check_tags(tags: list[str]) -> None:
    if len(tags) > MAX_TAGS:
        raise ValueError(f"a server may have at most {MAX_TAGS} tags")
    for tag in tags:
        if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
            raise ValueError(f"tag {tag!r} must be 1-60 characters without ',' or '/'")


class ServerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)
    accessIPv4: str | None = None  # noqa: N815
    accessIPv6: str | None = None  # noqa: N815
    disk_config: str | None = Field(default=None, alias="OS-DCF:diskConfig")
    hostname: str | None = None

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)

    @field_validator("accessIPv4", "accessIPv6")
    @classmethod
    def _ip_ok(cls, value: str | None, info: Any) -> str | None:
        return canonical_access_ip(value, info.field_name)


class MetadataBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Any]

    @field_validator("metadata")
    @classmethod
    def _metadata_ok(cls, value: Any) -> dict[str, str]:
        return check_metadata(value)


class MetaItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meta: dict[str, Any]

    @field_validator("meta")
    @classmethod
    def _one_item(cls, value: Any) -> dict[str, str]:
        check_metadata(value)
        if len(value) != 1:
            raise ValueError("the body must name exactly one metadata item")
        return value


class TagsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[str]

    @field_validator("tags")
    @classmethod
    def _tags_ok(cls, value: list[str]) -> list[str]:
        check_tags(value)
        return value
