"""The service catalog: services and their endpoints, and the catalog tokens and
/v3/auth/catalog show (filtered per project by OS-EP-FILTER associations)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest

from ..models import Endpoint, Limit, RegisteredLimit, Service
from ..schemas.catalog import EndpointCreate, EndpointUpdate, ServiceCreate, ServiceUpdate
from . import endpoint_groups
from .common import get_or_404, new_id, refuse_changes
from .regions import ensure_region, require_region

# what an endpoint URL may ask to be filled in, as Keystone allows: $(project_id)s ...
URL_SUBSTITUTIONS = ("tenant_id", "project_id", "user_id", "compute_host", "public_endpoint")
_SUBSTITUTION = re.compile(r"\$\(([^)]*)\)s")

# -- services -------------------------------------------------------------------------


def get_service(db: Session, service_id: str) -> Service:
    return get_or_404(db, Service, service_id, "service")


def create_service(db: Session, body: ServiceCreate) -> Service:
    row = Service(id=new_id(), type=body.type, name=body.name, description=body.description, enabled=body.enabled, extra=body.extras())
    db.add(row)
    db.flush()
    return row


def update_service(db: Session, service_id: str, body: ServiceUpdate) -> Service:
    row = get_service(db, service_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "service")
    for name in ("type", "name", "enabled"):
        if name in fields and getattr(body, name) is not None:
            setattr(row, name, getattr(body, name))
    if "description" in fields:
        row.description = body.description
    row.extra = {**(row.extra or {}), **body.extras()}
    return row


def list_services(db: Session, type: str | None = None, name: str | None = None) -> list[Service]:
    q = select(Service).order_by(Service.type, Service.id)
    if type is not None:
        q = q.where(Service.type == type)
    if name is not None:
        q = q.where(Service.name == name)
    return list(db.scalars(q))


def delete_service(db: Session, service_id: str) -> None:
    """A service takes its endpoints (and their project associations) and its limits with it."""
    row = get_service(db, service_id)
    for endpoint_id in db.scalars(select(Endpoint.id).where(Endpoint.service_id == row.id)):
        endpoint_groups.forget_endpoint(db, endpoint_id)
    db.execute(delete(Endpoint).where(Endpoint.service_id == row.id))
    db.execute(delete(Limit).where(Limit.service_id == row.id))
    db.execute(delete(RegisteredLimit).where(RegisteredLimit.service_id == row.id))
    db.delete(row)


# -- endpoints ------------------------------------------------------------------------


def get_endpoint(db: Session, endpoint_id: str) -> Endpoint:
    return get_or_404(db, Endpoint, endpoint_id, "endpoint")


def check_url(url: str) -> None:
    """Only the substitutions Keystone knows may appear in an endpoint URL."""
    names = _SUBSTITUTION.findall(url)
    if url.count("$(") != len(names) or any(n not in URL_SUBSTITUTIONS for n in names):
        raise BadRequest(f"Cannot create an endpoint with an invalid URL: {url}.")


def _region_of(db: Session, region_id: str | None, legacy_region: str | None) -> str | None:
    """region_id must name an existing region; the v3.0 `region` creates it if needed."""
    if region_id is None and legacy_region is not None:
        return ensure_region(db, legacy_region).id
    require_region(db, region_id, "endpoint.region_id")
    return region_id


def _require_service(db: Session, service_id: str) -> None:
    if db.get(Service, service_id) is None:
        raise BadRequest(f"Invalid input for field 'endpoint.service_id': service {service_id} does not exist.")


def _extras(body: EndpointCreate | EndpointUpdate) -> dict[str, Any]:
    named = {k: getattr(body, k) for k in ("name", "description") if k in body.model_fields_set}
    return {**body.extras(), **named}


def create_endpoint(db: Session, body: EndpointCreate) -> Endpoint:
    check_url(body.url)
    _require_service(db, body.service_id)
    region_id = _region_of(db, body.region_id, body.region)
    row = Endpoint(
        id=new_id(),
        service_id=body.service_id,
        interface=body.interface,
        url=body.url,
        region_id=region_id,
        enabled=body.enabled,
        extra=_extras(body),
    )
    db.add(row)
    db.flush()
    return row


def update_endpoint(db: Session, endpoint_id: str, body: EndpointUpdate) -> Endpoint:
    row = get_endpoint(db, endpoint_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "endpoint")
    if body.url is not None:
        check_url(body.url)
        row.url = body.url
    if body.service_id is not None:
        _require_service(db, body.service_id)
        row.service_id = body.service_id
    if "region_id" in fields or body.region is not None:
        row.region_id = _region_of(db, body.region_id, body.region)
    if body.interface is not None:
        row.interface = body.interface
    if body.enabled is not None:
        row.enabled = body.enabled
    row.extra = {**(row.extra or {}), **_extras(body)}
    return row


def list_endpoints(db: Session, filters: dict[str, str | None]) -> list[Endpoint]:
    q = select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface, Endpoint.id)
    for key in ("interface", "service_id", "region_id"):
        if filters.get(key) is not None:
            q = q.where(getattr(Endpoint, key) == filters[key])
    return list(db.scalars(q))


def delete_endpoint(db: Session, endpoint_id: str) -> None:
    row = get_endpoint(db, endpoint_id)
    endpoint_groups.forget_endpoint(db, row.id)
    db.delete(row)


# -- the catalog as tokens show it ----------------------------------------------------


@dataclass(frozen=True)
class CatalogEndpoint:
    id: str
    service_id: str
    interface: str
    url: str
    region_id: str | None
    enabled: bool


@dataclass(frozen=True)
class CatalogService:
    id: str
    type: str
    name: str
    endpoints: tuple[CatalogEndpoint, ...]


@dataclass
class CatalogSnapshot:
    """Everything a catalog needs, read once: rendering one for a project then needs
    no database (the identity service caches a snapshot until the next write)."""

    services: list[CatalogService]
    direct: dict[str, set[str]] = field(default_factory=dict)  # project -> endpoint ids
    grouped: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # project -> group filters
    # rendered catalogs by (project, user): a snapshot never changes, so neither do they
    _rendered: dict[tuple[str | None, str | None], list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def visible_endpoints(self, project_id: str | None) -> set[str] | None:
        """The endpoint ids a project is limited to, or None when it is not limited."""
        if project_id is None:
            return None
        wanted = set(self.direct.get(project_id, ()))
        for filters in self.grouped.get(project_id, ()):
            wanted.update(ep.id for svc in self.services for ep in svc.endpoints if endpoint_groups.matches(filters, ep))
        return wanted or None

    def render(self, project_id: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
        key = (project_id, user_id)
        cached = self._rendered.get(key)
        if cached is None:
            if len(self._rendered) > 10_000:
                self._rendered.clear()
            cached = self._rendered[key] = self._render(project_id, user_id)
        return cached

    def _render(self, project_id: str | None, user_id: str | None) -> list[dict[str, Any]]:
        visible = self.visible_endpoints(project_id)
        values = {"tenant_id": project_id, "project_id": project_id, "user_id": user_id}
        catalog = []
        for svc in self.services:
            endpoints = []
            for ep in svc.endpoints:
                if not ep.enabled or (visible is not None and ep.id not in visible):
                    continue
                url = fill_url(ep.url, values)
                if url is not None:
                    endpoints.append({"id": ep.id, "interface": ep.interface, "region": ep.region_id, "region_id": ep.region_id, "url": url})
            if visible is not None and not endpoints:
                continue  # a filtered catalog leaves out services it shows nothing of, as Keystone does
            catalog.append({"id": svc.id, "type": svc.type, "name": svc.name, "endpoints": endpoints})
        return catalog


def fill_url(url: str, values: dict[str, str | None]) -> str | None:
    """The URL with $(name)s filled in; None when a value is missing (the endpoint is
    then left out, as Keystone does for a domain-scoped token and $(project_id)s)."""
    missing = False

    def fill(m: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(m.group(1))
        if value is None:
            missing = True
            return ""
        return value

    filled = _SUBSTITUTION.sub(fill, url)
    return None if missing else filled


def load_catalog(db: Session) -> CatalogSnapshot:
    endpoints: dict[str, list[CatalogEndpoint]] = {}
    for ep in db.scalars(select(Endpoint).order_by(Endpoint.interface, Endpoint.id)):
        endpoints.setdefault(ep.service_id, []).append(
            CatalogEndpoint(ep.id, ep.service_id, ep.interface, ep.url, ep.region_id, bool(ep.enabled))
        )
    services = [
        CatalogService(svc.id, svc.type, svc.name or "", tuple(endpoints.get(svc.id, ())))
        for svc in db.scalars(select(Service).where(Service.enabled.is_(True)).order_by(Service.type, Service.id))
    ]
    # disabled endpoints stay in the snapshot: a project's associations may name them
    direct, grouped = endpoint_groups.project_filters(db)
    return CatalogSnapshot(services, direct, grouped)


def build_catalog(db: Session, project_id: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
    """Enabled services with their enabled endpoints, in Keystone's token format."""
    return load_catalog(db).render(project_id, user_id)
