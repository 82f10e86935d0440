"""Request bodies of /v3/credentials, OS-EC2, application credentials, access rules
and OS-TRUST trusts (Keystone's credential, application_credential and trust schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints, model_validator

from .common import ClosedModel, Description, Id64, Name255, OpenModel

Blob = Annotated[str, StringConstraints(strict=True)]
# Keystone's id_string: what access rule services and role ids must look like
IdString = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9-]+$")]
NonBlankName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255, pattern=r"\S")]
RulePath = Annotated[str, StringConstraints(strict=True, max_length=225, pattern=r"^/")]
HttpMethod = Literal["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"]


# -- /v3/credentials ---------------------------------------------------------------------


class CredentialCreate(OpenModel):
    user_id: Id64
    type: Name255
    blob: Blob
    project_id: Id64 | None = None
    id: Annotated[str, StringConstraints(strict=True)] | None = None  # accepted, never used (as Keystone)

    @model_validator(mode="after")
    def _ec2_needs_project(self) -> CredentialCreate:
        if self.type == "ec2" and not self.project_id:
            raise ValueError("an ec2 credential requires project_id")
        return self


class CredentialUpdate(OpenModel):
    id: Annotated[str, StringConstraints(strict=True)] | None = None  # if given, must be the credential's own
    user_id: Id64 | None = None
    type: Name255 | None = None
    blob: Blob | None = None
    project_id: Id64 | None = None


class Ec2CredentialCreate(OpenModel):
    tenant_id: Id64


# -- application credentials -------------------------------------------------------------


class RoleRef(ClosedModel):
    """{"id": ...} or {"name": ...}, exactly one of them."""

    id: IdString | None = None
    name: Name255 | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RoleRef:
        if (self.id is None) == (self.name is None):
            raise ValueError("a role is referenced by exactly one of id or name")
        return self


class AccessRuleRef(ClosedModel):
    """A new rule (service, path, method) or an existing one by id."""

    id: IdString | None = None
    service: IdString | None = None
    path: RulePath | None = None
    method: HttpMethod | None = None

    @model_validator(mode="after")
    def _complete(self) -> AccessRuleRef:
        if self.id is None and None in (self.service, self.path, self.method):
            raise ValueError("an access rule needs service, path and method, or the id of an existing rule")
        return self


class ApplicationCredentialCreate(ClosedModel):
    name: NonBlankName
    description: Description = None
    secret: Annotated[str, StringConstraints(strict=True)] | None = None
    expires_at: Annotated[str, StringConstraints(strict=True)] | None = None
    roles: list[RoleRef] | None = None
    unrestricted: StrictBool | None = None
    access_rules: list[AccessRuleRef] | None = None
    # accepted as Keystone does; the credential always takes the token's project
    id: Annotated[str, StringConstraints(strict=True)] | None = None
    project_id: Annotated[str, StringConstraints(strict=True)] | None = None
    system: Annotated[str, StringConstraints(strict=True)] | None = None


# -- trusts ------------------------------------------------------------------------------


class TrustCreate(OpenModel):
    trustor_user_id: Id64
    trustee_user_id: Id64
    impersonation: StrictBool
    project_id: Id64 | None = None
    roles: list[RoleRef] = Field(default_factory=list)
    expires_at: Annotated[str, StringConstraints(strict=True)] | None = None
    remaining_uses: Annotated[StrictInt, Field(ge=1)] | None = None
    allow_redelegation: StrictBool | None = None
    redelegation_count: Annotated[StrictInt, Field(ge=0)] | None = None
    id: Annotated[str, StringConstraints(strict=True)] | None = None  # accepted, never used (as Keystone)
