"""Request body of POST /os-server-groups, per microversion (Nova's server_groups.py schema):

    2.1-2.14    {"name", "policies": ["affinity" | "anti-affinity"]}
    2.15-2.63   policies may also be "soft-affinity" / "soft-anti-affinity"
    2.64-       {"name", "policy", "rules": {"max_server_per_host": n}} (rules: anti-affinity only)

Unknown fields are refused, and names follow Nova's: printable, 1-255 characters, no
whitespace at either end."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pocketstack.core.microversions import Version


def printable_name(name: str) -> str:
    """Nova's "name" format: no control characters, no leading or trailing whitespace."""
    if name != name.strip() or any(_unprintable(char) for char in name):
        raise ValueError(f"{name[:60]!r} is not a valid name: printable characters, not beginning or ending with whitespace")
    return name


def _unprintable(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith("C") or (category.startswith("Z") and category != "Zs")


class _GroupBase(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=255)

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        return printable_name(name)

    @property
    def the_policy(self) -> str:
        raise NotImplementedError

    @property
    def the_rules(self) -> dict[str, Any]:
        return {}


class CreateGroup21(_GroupBase):
    policies: list[Literal["affinity", "anti-affinity"]] = Field(min_length=1, max_length=1)

    @property
    def the_policy(self) -> str:
        return self.policies[0]


class CreateGroup215(_GroupBase):
    policies: list[Literal["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]] = Field(min_length=1, max_length=1)

    @property
    def the_policy(self) -> str:
        return self.policies[0]


class GroupRules(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    max_server_per_host: int | str | None = None

    @field_validator("max_server_per_host")
    @classmethod
    def _positive(cls, value: int | str | None) -> int | None:
        if value is None:
            raise ValueError("None is not of type 'integer', 'string'")
        if isinstance(value, str):
            if not value.isascii() or not value.isdigit():
                raise ValueError(f"{value!r} does not match '^[0-9]*$'")
            value = int(value)
        if value < 1:
            raise ValueError(f"{value} is less than the minimum of 1")
        return value


class CreateGroup264(_GroupBase):
    policy: Literal["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]
    rules: GroupRules = Field(default_factory=GroupRules)

    @property
    def the_policy(self) -> str:
        return self.policy

    @property
    def the_rules(self) -> dict[str, Any]:
        return self.rules.model_dump(exclude_none=True)


def create_model(version: Version) -> type[_GroupBase]:
    if version >= "2.64":
        return CreateGroup264
    if version >= "2.15":
        return CreateGroup215
    return CreateGroup21
