"""Request bodies of PUT /os-services (Nova's services.py schema): before 2.53 the body
names the service (host, binary) and the path the action; from 2.53 the path names the
service (its uuid) and the body says what changes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .aggregates import HOSTNAME
from .quotas import boolean_value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _flag(value: Any) -> bool:
    """Nova's boolean words; an explicit null is not one (absent is fine)."""
    if value is None:
        raise ValueError("None is not one of the boolean values")
    try:
        return boolean_value("forced_down", value)
    except Exception:
        raise ValueError(f"{value!r} is not one of the boolean values") from None


class ServiceAction21(_Strict):
    host: str = Field(min_length=1, max_length=255)
    binary: str = Field(min_length=1, max_length=255)
    disabled_reason: str | None = Field(default=None, min_length=1, max_length=255)

    @field_validator("host")
    @classmethod
    def _hostname(cls, host: str) -> str:
        if not HOSTNAME.fullmatch(host):
            raise ValueError(f"{host[:60]!r} does not match '^[a-zA-Z0-9-._]*$'")
        return host


class ServiceAction211(ServiceAction21):
    forced_down: bool | str | None = None

    @field_validator("forced_down")
    @classmethod
    def _forced(cls, value: Any) -> Any:
        return _flag(value)


class ServiceUpdate253(_Strict):
    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: str | None = Field(default=None, min_length=1, max_length=255)
    forced_down: bool | str | None = None

    @field_validator("forced_down")
    @classmethod
    def _forced(cls, value: Any) -> Any:
        return _flag(value)
