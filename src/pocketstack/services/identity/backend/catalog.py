"""The service catalog: services, endpoints and regions, as tokens and /v3/auth/catalog show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Endpoint, Service


def build_catalog(db: Session) -> list[dict[str, Any]]:
    """Enabled services with their enabled endpoints, in Keystone's token format."""
    services = db.scalars(select(Service).where(Service.enabled.is_(True)).order_by(Service.type)).all()
    endpoints = db.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))).all()
    by_service: dict[str, list[Endpoint]] = {}
    for ep in endpoints:
        by_service.setdefault(ep.service_id, []).append(ep)
    catalog = []
    for svc in services:
        eps = by_service.get(svc.id, [])
        catalog.append(
            {
                "id": svc.id,
                "type": svc.type,
                "name": svc.name or "",
                "endpoints": [
                    {"id": ep.id, "interface": ep.interface, "region": ep.region_id, "region_id": ep.region_id, "url": ep.url}
                    for ep in sorted(eps, key=lambda e: (e.interface, e.id))
                ],
            }
        )
    return catalog
