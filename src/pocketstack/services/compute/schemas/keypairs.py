"""Request bodies of os-keypairs, one model per microversion range where Nova's schema
changes (keypairs.py in nova/api/openstack/compute/schemas):

    2.1        name, public_key (optional: generate)
    2.2-2.9    + type ("ssh" | "x509")
    2.10-2.91  + user_id (an admin creates for another user)
    2.92-      public_key required; names may also hold "@" and "."

Unknown fields are refused (Nova's additionalProperties: false), and so is a null where a
string belongs."""

from __future__ import annotations

import string
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pocketstack.core.microversions import Version

from ..keys import SSH

NAME_CHARS_BEFORE_292 = "_- " + string.digits + string.ascii_letters
NAME_CHARS_SINCE_292 = "@._- " + string.digits + string.ascii_letters


class KeypairCreate21(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    allowed_name_chars: ClassVar[str] = NAME_CHARS_BEFORE_292

    name: str = Field(min_length=1, max_length=255)
    public_key: str | None = None

    @field_validator("name")
    @classmethod
    def _name_characters(cls, name: str) -> str:
        if name != name.strip():
            raise ValueError("Keypair name may not begin or end with whitespace.")
        if any(char not in cls.allowed_name_chars for char in name):
            raise ValueError(f"Only expected characters: [{cls.allowed_name_chars}]")
        return name

    @field_validator("public_key", mode="before")
    @classmethod
    def _present_means_string(cls, value: Any) -> Any:
        # absent is fine (a key is generated); an explicit null is not a key
        if value is None:
            raise ValueError("None is not of type 'string'")
        return value

    @property
    def key_type(self) -> str:
        return SSH

    @property
    def for_user(self) -> str | None:
        return None


class KeypairCreate22(KeypairCreate21):
    type: Literal["ssh", "x509"] = SSH

    @property
    def key_type(self) -> str:
        return self.type


class KeypairCreate210(KeypairCreate22):
    user_id: str | None = None

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_is_string(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("None is not of type 'string'")
        return value

    @property
    def for_user(self) -> str | None:
        return self.user_id


class KeypairCreate292(KeypairCreate210):
    allowed_name_chars: ClassVar[str] = NAME_CHARS_SINCE_292

    public_key: str  # type: ignore[assignment]  # generation is gone from 2.92: a key must be given


def create_model(version: Version) -> type[KeypairCreate21]:
    if version >= "2.92":
        return KeypairCreate292
    if version >= "2.10":
        return KeypairCreate210
    if version >= "2.2":
        return KeypairCreate22
    return KeypairCreate21
