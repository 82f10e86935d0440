"""Request bodies of os-aggregates (Nova's aggregates.py schema): names are Nova's
printable names, zones the same without ":", hosts hostnames, metadata keys
[a-zA-Z0-9-_:. ] up to 255 characters with string (or null: remove) values."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .server_groups import printable_name

HOSTNAME = re.compile(r"[a-zA-Z0-9._-]{1,255}")
METADATA_KEY = re.compile(r"[a-zA-Z0-9-_:. ]{1,255}")


def zone_name(zone: str | None) -> str | None:
    if zone is None:
        return None
    if ":" in zone:
        raise ValueError(f"{zone[:60]!r} is not a valid availability zone name: printable characters except ':'")
    return printable_name(zone)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AggregateCreate(_Strict):
    name: str = Field(min_length=1, max_length=255)
    availability_zone: str | None = Field(default=None, min_length=1, max_length=255)

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        return printable_name(name)

    @field_validator("availability_zone")
    @classmethod
    def _zone(cls, zone: str | None) -> str | None:
        return zone_name(zone)


class AggregateUpdate(_Strict):
    # an update's name may carry spaces at its ends (Nova strips them)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    availability_zone: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="before")
    @classmethod
    def _something(cls, data: Any) -> Any:
        if isinstance(data, dict) and not ({"name", "availability_zone"} & set(data)):
            raise ValueError("either 'name' or 'availability_zone' is required")
        if isinstance(data, dict) and "name" in data and data["name"] is None:
            raise ValueError("None is not of type 'string'")
        return data

    @field_validator("name")
    @classmethod
    def _stripped(cls, name: str | None) -> str | None:
        if name is None:
            return None
        stripped = name.strip()
        if not stripped:
            raise ValueError(f"{name!r} is not a valid name")
        return printable_name(stripped)

    @field_validator("availability_zone")
    @classmethod
    def _zone(cls, zone: str | None) -> str | None:
        return zone_name(zone)


class HostBody(_Strict):
    host: str

    @field_validator("host")
    @classmethod
    def _hostname(cls, host: str) -> str:
        if not HOSTNAME.fullmatch(host):
            raise ValueError(f"{host[:60]!r} does not match '^[a-zA-Z0-9-._]*$'")
        return host


class MetadataBody(_Strict):
    metadata: dict[str, str | None]

    @field_validator("metadata")
    @classmethod
    def _keys_and_values(cls, metadata: dict[str, str | None]) -> dict[str, str | None]:
        for key, value in metadata.items():
            if not METADATA_KEY.fullmatch(key):
                raise ValueError(f"Additional properties are not allowed ({key[:60]!r} was unexpected)")
            if value is not None and len(value) > 255:
                raise ValueError(f"the value of {key!r} is longer than 255 characters")
        return metadata
