"""The identity service as the app sees it: its routes, its token validator, its
catalog entry and the bootstrap of a fresh cloud."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.config import Settings
from pocketstack.core.api import ApiRouter
from pocketstack.core.db import Database

from . import policy
from .api import build_router
from .backend.auth import TokenProvider
from .backend.catalog import CatalogSnapshot, load_catalog
from .backend.common import new_id
from .backend.passwords import set_password
from .models import GLOBAL_ROLE, ROOT_DOMAIN, Assignment, Endpoint, ImpliedRole, Project, Region, Role, Service, User
from .tokens import KeyRepository, TokenFormatter

DEFAULT_DOMAIN_ID = "default"
# role -> the role it implies: admin > manager > member > reader, as Keystone bootstraps
ROLE_CHAIN = {"admin": "manager", "manager": "member", "member": "reader"}
BOOTSTRAP_ROLES = ["admin", "manager", "member", "reader", "service"]


class IdentityService:
    name = "identity"
    type = "identity"
    prefix = "/identity"
    catalog_name = "keystone"
    catalog_description = "Identity Service"

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.keys = KeyRepository(settings.data_dir / "fernet-keys")
        self.keys.ensure()
        self.tokens = TokenProvider(TokenFormatter(self.keys), settings.identity, db)
        self._catalog: tuple[int, CatalogSnapshot] | None = None
        self._catalog_lock = threading.Lock()

    policy_rules = policy.RULES

    def router(self) -> ApiRouter:
        router = build_router()
        router.after_write = self.changed
        return router

    def changed(self) -> None:
        """Any identity write may revoke or change what a token means: forget the cache."""
        self.tokens.cache.clear()

    def catalog(self, project_id: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
        """The catalog a token shows; pass the token's project (and user) so that
        OS-EP-FILTER associations and $(project_id)s URLs apply."""
        generation = self.tokens.cache.generation
        cached = self._catalog
        if cached is None or cached[0] != generation:
            with self.db.read() as db:
                cached = (generation, load_catalog(db))
            with self._catalog_lock:
                self._catalog = cached
        return cached[1].render(project_id, user_id)


def bootstrap(db: Session, settings: Settings, services: list[Any], passwords: dict[str, str]) -> dict[str, str]:
    """Create what a fresh cloud needs; running it again changes nothing that exists.

    Returns the ids of the things made or found (for the rc files)."""
    default = db.get(Project, DEFAULT_DOMAIN_ID)
    if default is None:
        db.add(
            Project(
                id=DEFAULT_DOMAIN_ID,
                name="Default",
                domain_id=ROOT_DOMAIN,
                description="The default domain",
                enabled=True,
                is_domain=True,
                extra={},
            )
        )
        db.flush()
    roles = {name: _ensure_role(db, name) for name in BOOTSTRAP_ROLES}
    for prior, implied in ROLE_CHAIN.items():
        if db.get(ImpliedRole, (roles[prior].id, roles[implied].id)) is None:
            db.add(ImpliedRole(prior_role_id=roles[prior].id, implied_role_id=roles[implied].id))
    projects = {name: _ensure_project(db, name) for name in ("admin", "service", "demo")}
    admin = _ensure_user(db, "admin", passwords["admin"], projects["admin"].id, settings)
    demo = _ensure_user(db, "demo", passwords["demo"], projects["demo"].id, settings)
    _ensure_grant(db, "UserProject", admin.id, projects["admin"].id, roles["admin"].id)
    _ensure_grant(db, "UserSystem", admin.id, "system", roles["admin"].id)
    _ensure_grant(db, "UserDomain", admin.id, DEFAULT_DOMAIN_ID, roles["admin"].id)
    _ensure_grant(db, "UserProject", demo.id, projects["demo"].id, roles["member"].id)
    if db.get(Region, settings.region) is None:
        db.add(Region(id=settings.region, description="", parent_region_id=None, extra={}))
    for service in services:
        _ensure_catalog_entry(db, service, settings)
    return {"admin_user_id": admin.id, "demo_user_id": demo.id, "admin_project_id": projects["admin"].id}


def _ensure_role(db: Session, name: str) -> Role:
    role = db.scalars(select(Role).where(Role.name == name, Role.domain_id == GLOBAL_ROLE)).first()
    if role is None:
        # immutable, as keystone-manage bootstrap makes them
        role = Role(id=new_id(), name=name, domain_id=GLOBAL_ROLE, description=None, options={"immutable": True}, extra={})
        db.add(role)
        db.flush()
    return role


def _ensure_project(db: Session, name: str) -> Project:
    row = db.scalars(select(Project).where(Project.name == name, Project.domain_id == DEFAULT_DOMAIN_ID)).first()
    if row is None:
        row = Project(
            id=new_id(),
            name=name,
            domain_id=DEFAULT_DOMAIN_ID,
            parent_id=DEFAULT_DOMAIN_ID,
            description=f"Bootstrap project {name}",
            enabled=True,
            is_domain=False,
            extra={},
        )
        db.add(row)
        db.flush()
    return row


def _ensure_user(db: Session, name: str, password: str, project_id: str, settings: Settings) -> User:
    user = db.scalars(select(User).where(User.name == name, User.domain_id == DEFAULT_DOMAIN_ID)).first()
    if user is None:
        user = User(id=new_id(), name=name, domain_id=DEFAULT_DOMAIN_ID, enabled=True, default_project_id=project_id, options={}, extra={})
        db.add(user)
        db.flush()
        set_password(db, user, password, settings.identity, self_service=False)
    return user


def _ensure_grant(db: Session, kind: str, actor: str, target: str, role_id: str) -> None:
    if db.get(Assignment, (kind, actor, target, role_id, False)) is None:
        db.add(Assignment(type=kind, actor_id=actor, target_id=target, role_id=role_id, inherited=False))


def _ensure_catalog_entry(db: Session, service: Any, settings: Settings) -> None:
    """One catalog service per running pocketstack service, endpoints kept current."""
    row = db.scalars(select(Service).where(Service.type == service.type)).first()
    if row is None:
        row = Service(id=new_id(), type=service.type, name=service.catalog_name, description=service.catalog_description, enabled=True, extra={})
        db.add(row)
        db.flush()
    # the same URL for every interface (one listener); a service names its path below its
    # prefix when clients want a versioned endpoint (Nova's /compute/v2.1)
    url = settings.effective_public_url + service.prefix + getattr(service, "catalog_path", "")
    wanted = {interface: url for interface in ("public", "internal", "admin")}
    existing = {ep.interface: ep for ep in db.scalars(select(Endpoint).where(Endpoint.service_id == row.id))}
    for interface, url in wanted.items():
        ep = existing.get(interface)
        if ep is None:
            db.add(Endpoint(id=new_id(), service_id=row.id, interface=interface, url=url, region_id=settings.region, enabled=True, extra={}))
        elif ep.url != url:
            ep.url = url  # the listener moved (new port or public URL): follow it
