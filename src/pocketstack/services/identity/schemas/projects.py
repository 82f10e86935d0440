"""Request bodies of /v3/projects and /v3/domains."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool

from .common import Description, Id64, Name64, OpenModel, Tag


class ProjectCreate(OpenModel):
    name: Name64
    domain_id: Id64 | None = None
    parent_id: Id64 | None = None
    description: Description = None
    enabled: StrictBool = True
    is_domain: StrictBool = False
    tags: list[Tag] = Field(default_factory=list, max_length=80)
    options: dict[str, Any] = Field(default_factory=dict)


class ProjectUpdate(OpenModel):
    id: Id64 | None = None  # may be repeated, not changed
    name: Name64 | None = None
    description: Description = None
    enabled: StrictBool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=80)
    options: dict[str, Any] | None = None
    # present in the body but not changeable; checked by the backend
    domain_id: Id64 | None = None
    parent_id: Id64 | None = None
    is_domain: StrictBool | None = None


class DomainCreate(OpenModel):
    name: Name64
    description: Description = None
    enabled: StrictBool = True
    tags: list[Tag] = Field(default_factory=list, max_length=80)
    options: dict[str, Any] = Field(default_factory=dict)
    explicit_domain_id: Id64 | None = None


class DomainUpdate(OpenModel):
    id: Id64 | None = None  # may be repeated, not changed
    name: Name64 | None = None
    description: Description = None
    enabled: StrictBool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=80)
    options: dict[str, Any] | None = None


class TagsReplace(OpenModel):
    tags: list[Tag] = Field(max_length=80)
