"""What a metadefs request body may say: the rules of Glance's documents (schema_docs.py)
as pydantic models.

Glance answers a read-only attribute in a body (`self`, `created_at`, ...) with 403
"Attribute 'x' is read-only."; anything else that does not fit is a 400 naming the field.
Names are 1 to 80 characters without "/" (a name with a slash could never be addressed
in a URL again). Numbers must be finite: NaN would poison every later response.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from pocketstack.core.api import validate
from pocketstack.core.faults import BadRequest, Forbidden

from .schema_docs import NAME_MAX, PROPERTY_TYPES


def _no_slash(name: str) -> str:
    if "/" in name:
        raise ValueError("a name may not contain '/'")
    return name


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("the items must be unique")
    return values


def _number(value: Any) -> Any:
    """An integer or a finite float (JSON's number; true and false are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


MAX_VALUE_DEPTH = 32  # how deeply a default or enum value may nest lists and objects


def _plain_json(value: Any) -> Any:
    """Any JSON value, at most MAX_VALUE_DEPTH levels deep, without NaN or infinity
    anywhere inside. Walked without recursion, so no input can exhaust the stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        if isinstance(item, (dict, list)):
            if depth > MAX_VALUE_DEPTH:
                raise ValueError(f"a value may nest at most {MAX_VALUE_DEPTH} levels deep")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return value


Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=NAME_MAX), AfterValidator(_no_slash)]
Text = Annotated[str, StringConstraints(strict=True)]
Text80 = Annotated[str, StringConstraints(strict=True, max_length=NAME_MAX)]
Number = Annotated[Any, AfterValidator(_number)]
Count = Annotated[int, Field(strict=True, ge=0)]
AnyJson = Annotated[Any, AfterValidator(_plain_json)]
PropertyType = Literal["array", "boolean", "integer", "number", "object", "string"]
StringSet = Annotated[list[Text], AfterValidator(_unique)]

M = TypeVar("M", bound=BaseModel)

assert set(PropertyType.__args__) == set(PROPERTY_TYPES)  # type: ignore[attr-defined]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemsDefinition(Closed):
    """The item type of an array property."""

    type: PropertyType | None = None
    enum: list[AnyJson] | None = None


class PropertyDefinition(Closed):
    """One property definition: what a value of this metadata key looks like."""

    name: Name | None = None
    title: Text
    type: PropertyType
    description: Text | None = None
    operators: list[Text] | None = None
    default: AnyJson = None
    readonly: StrictBool | None = None
    # Glance keeps "confidential" although its document does not list it
    confidential: StrictBool | None = None
    minimum: Number | None = None
    maximum: Number | None = None
    enum: list[AnyJson] | None = None
    pattern: Text | None = None
    minLength: Count | None = None
    maxLength: Count | None = None
    items: ItemsDefinition | None = None
    uniqueItems: StrictBool | None = None
    minItems: Count | None = None
    maxItems: Count | None = None
    additionalItems: StrictBool | None = None
    # the document allows it, Glance's model drops it: accepted, not kept
    required: StringSet | None = None

    def stored(self) -> dict[str, Any]:
        """The definition as kept and shown: without its name (the key it is filed
        under) and without fields nobody set."""
        return self.model_dump(exclude_none=True, exclude={"name", "required"})


class NamedPropertyDefinition(PropertyDefinition):
    """A property on its own (POST/PUT .../properties) carries its name."""

    name: Name


PropertyMap = dict[Name, PropertyDefinition]


class ObjectDefinition(Closed):
    name: Name
    description: Text | None = None
    required: StringSet | None = None
    properties: PropertyMap | None = None


class AssociationBody(Closed):
    name: Name
    prefix: Text80 | None = None
    properties_target: Text80 | None = None


class TagBody(Closed):
    name: Name


class TagList(Closed):
    tags: list[TagBody]

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        names = [tag.name for tag in self.tags]
        if len(set(names)) != len(names):
            raise ValueError("a tag name appears twice")
        return self


class NamespaceBody(Closed):
    """A namespace to create (with, optionally, everything in it), or a namespace's new
    state on PUT (where the nested collections are ignored, as Glance ignores them)."""

    namespace: Name
    display_name: Text80 | None = None
    description: Annotated[str, StringConstraints(strict=True, max_length=500)] | None = None
    visibility: Literal["public", "private"] | None = None
    protected: StrictBool | None = None
    owner: Annotated[str, StringConstraints(strict=True, max_length=255)] | None = None
    resource_type_associations: list[AssociationBody] | None = None
    properties: PropertyMap | None = None
    objects: list[ObjectDefinition] | None = None
    tags: list[TagBody] | None = None


# fields a client may read but never send, per kind of body
LINKS_AND_TIMES = ("self", "schema", "created_at", "updated_at")
TIMES = ("created_at", "updated_at")


def parse(model: type[M], data: Any, read_only: tuple[str, ...]) -> M:
    """Validate a body: 403 for a read-only attribute (Glance's answer), 400 otherwise."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    for key in read_only:
        if key in data:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    return validate(model, data)


def tag_name(name: str) -> str:
    """A tag name given in a URL (POST .../tags/{tag}): the same rules as in a body."""
    return validate(TagBody, {"name": name}).name
