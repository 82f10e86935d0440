"""Request bodies of the catalog: /v3/regions, /v3/services, /v3/endpoints and
OS-EP-FILTER endpoint groups (Keystone's keystone/catalog/schema.py, in pydantic)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StrictBool, StringConstraints

from .common import ClosedModel, Description, Name255, NonEmpty, OpenModel

# Keystone caps these descriptions (regions, consumers, limits) at 255 characters
ShortDescription = Annotated[str, StringConstraints(strict=True, max_length=255)] | None
RegionId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255)]
# an empty id on create means "make one up", as Keystone allows
RegionIdOrEmpty = Annotated[str, StringConstraints(strict=True, max_length=255)]
Interface = Literal["admin", "internal", "public"]
StrictStr = Annotated[str, StringConstraints(strict=True)]
# Keystone's url type: a scheme, a colon, something; at most 225 characters
Url = Annotated[str, StringConstraints(strict=True, max_length=225, pattern=r"^[a-zA-Z0-9+.-]+:.+")]


class RegionCreate(OpenModel):
    id: RegionIdOrEmpty | None = None
    description: ShortDescription = None
    parent_region_id: RegionId | None = None


class RegionUpdate(NonEmpty, OpenModel):
    id: RegionId | None = None
    description: ShortDescription = None
    parent_region_id: RegionId | None = None


class ServiceCreate(OpenModel):
    type: Name255
    name: Name255 | None = None
    description: Description = None
    enabled: StrictBool = True


class ServiceUpdate(NonEmpty, OpenModel):
    id: StrictStr | None = None
    type: Name255 | None = None
    name: Name255 | None = None
    description: Description = None
    enabled: StrictBool | None = None


class EndpointCreate(OpenModel):
    service_id: StrictStr
    interface: Interface
    url: Url
    region_id: StrictStr | None = None
    region: StrictStr | None = None  # v3.0's name of region_id; still sent by Tempest
    enabled: StrictBool = True
    name: StrictStr | None = None
    description: StrictStr | None = None
    id: StrictStr | None = None  # accepted and ignored: Keystone always makes the id


class EndpointUpdate(NonEmpty, OpenModel):
    id: StrictStr | None = None
    service_id: StrictStr | None = None
    interface: Interface | None = None
    url: Url | None = None
    region_id: StrictStr | None = None
    region: StrictStr | None = None
    enabled: StrictBool | None = None
    name: StrictStr | None = None
    description: StrictStr | None = None


class EndpointGroupFilters(ClosedModel):
    """The endpoint attributes an endpoint group may select on."""

    service_id: StrictStr | None = None
    region_id: StrictStr | None = None
    interface: Interface | None = None


class EndpointGroupCreate(ClosedModel):
    name: Name255
    description: StrictStr | None = None
    filters: EndpointGroupFilters


class EndpointGroupUpdate(NonEmpty, ClosedModel):
    id: StrictStr | None = None
    name: Name255 | None = None
    description: StrictStr | None = None
    filters: EndpointGroupFilters | None = None
