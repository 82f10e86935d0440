"""Request bodies of /v3/policies, OS-OAUTH1 consumers and unified limits (domain
configuration bodies are free-form: backend/domain_configs.py checks them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from .catalog import RegionId, ShortDescription, StrictStr
from .common import ClosedModel, Id64, Name255, NonEmpty, OpenModel

PolicyType = Annotated[str, StringConstraints(strict=True, max_length=255)]
# Keystone's limit integers: -1 (unlimited) up to the largest signed 32-bit value
LimitValue = Annotated[int, Field(strict=True, ge=-1, le=0x7FFFFFFF)]


class PolicyCreate(OpenModel):
    blob: StrictStr
    type: PolicyType


class PolicyUpdate(NonEmpty, OpenModel):
    id: StrictStr | None = None
    blob: StrictStr | None = None
    type: PolicyType | None = None


class ConsumerCreate(OpenModel):
    description: ShortDescription = None


class ConsumerUpdate(NonEmpty, OpenModel):
    id: StrictStr | None = None
    description: ShortDescription = None

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and "secret" in data:
            raise ValueError("the secret of a consumer cannot be changed")
        return data


class RegisteredLimitCreate(ClosedModel):
    service_id: StrictStr
    region_id: RegionId | None = None
    resource_name: Name255
    default_limit: LimitValue
    description: ShortDescription = None


class RegisteredLimitsCreate(ClosedModel):
    registered_limits: list[RegisteredLimitCreate] = Field(min_length=1)


class RegisteredLimitUpdate(ClosedModel):
    service_id: StrictStr | None = None
    region_id: RegionId | None = None
    resource_name: Name255 | None = None
    default_limit: LimitValue | None = None
    description: ShortDescription = None


class LimitCreate(ClosedModel):
    service_id: StrictStr
    region_id: RegionId | None = None
    resource_name: Name255
    resource_limit: LimitValue
    project_id: Id64 | None = None
    domain_id: Id64 | None = None
    description: ShortDescription = None

    @model_validator(mode="after")
    def _one_owner(self) -> LimitCreate:
        given = {"project_id", "domain_id"} & self.model_fields_set
        if len(given) != 1 or getattr(self, given.pop()) is None:
            raise ValueError("exactly one of project_id and domain_id is required")
        return self


class LimitsCreate(ClosedModel):
    limits: list[LimitCreate] = Field(min_length=1)


class LimitUpdate(ClosedModel):
    resource_limit: LimitValue | None = None
    description: ShortDescription = None
