"""Field types the identity request schemas share (Keystone's parameter_types)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, StrictBool, StringConstraints, model_validator

# project and domain names: Keystone's pattern [\S]+ refuses whitespace-only names
Name64 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"\S")]
Name255 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255)]
Id64 = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(strict=True, max_length=65535)] | None
Tag = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255, pattern=r"^[^,/]*$")]
Enabled = StrictBool


class OpenModel(BaseModel):
    """Keystone entities accept attributes it does not know and returns them back."""

    model_config = ConfigDict(extra="allow")

    # never stored as extras: the id is ours to assign, links are rendered
    RESERVED: ClassVar[frozenset[str]] = frozenset({"id", "links"})

    def extras(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if k not in self.RESERVED}


class ClosedModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NonEmpty(BaseModel):
    """An update body must change something (Keystone's minProperties: 1)."""

    @model_validator(mode="after")
    def _something_given(self) -> Self:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("at least one property is required")
        return self
