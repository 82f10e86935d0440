"""Authentication and tokens: who may get a token, for which scope, and whether a token
is still good. Everything a token says is rechecked here when it is validated: user
and project enabled, roles still held, nothing revoked.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pocketstack.config import IdentitySettings
from pocketstack.core.context import RequestContext
from pocketstack.core.db import utcnow
from pocketstack.core.faults import BadRequest, Forbidden, NotFound, Unauthorized

from ..models import (
    ROOT_DOMAIN,
    AccessRule,
    ApplicationCredential,
    ApplicationCredentialAccessRule,
    ApplicationCredentialRole,
    Password,
    Project,
    RevocationEvent,
    Trust,
    TrustRole,
    User,
)
from ..tokens import TokenFormatter, TokenPayload, new_audit_id
from . import passwords
from .effective_roles import effective_roles, implied_closure, project_ancestors
from .trusts import pedigree

UNAUTHORIZED = "The request you have made requires authentication."


@dataclass
class TokenData:
    """A validated token, detached from the database: enough to render and authorize."""

    token: str
    payload: TokenPayload
    user: dict[str, Any]
    project: dict[str, Any] | None = None
    domain: dict[str, Any] | None = None
    system: str | None = None
    roles: list[dict[str, str]] = field(default_factory=list)
    trust: dict[str, Any] | None = None
    application_credential: dict[str, Any] | None = None
    is_domain: bool = False

    def context(self, request_id: str) -> RequestContext:
        return RequestContext(
            request_id=request_id,
            authenticated=True,
            user_id=self.user["id"],
            user_name=self.user["name"],
            user_domain_id=self.user["domain"]["id"],
            project_id=self.project["id"] if self.project else None,
            project_name=self.project["name"] if self.project else None,
            project_domain_id=self.project["domain"]["id"] if self.project else None,
            domain_id=self.domain["id"] if self.domain else None,
            system_scope=self.system,
            roles=frozenset(r["name"] for r in self.roles),
            role_ids=frozenset(r["id"] for r in self.roles),
            token=self.token,
            audit_id=self.payload.audit_ids[0],
            trust_id=self.payload.trust_id,
            application_credential_id=self.payload.application_credential_id,
            auth_methods=tuple(self.payload.methods),
        )


class TokenCache:
    """token -> TokenData for a short while; any identity write clears it all, so a
    revocation, a disabled user or a removed role is seen by the very next request."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, TokenData]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, token: str) -> TokenData | None:
        item = self._items.get(token)
        if item is None:
            return None
        until, data = item
        if time.monotonic() > until or data.payload.expires_at <= utcnow():
            self._items.pop(token, None)
            return None
        return data

    def put(self, token: str, data: TokenData, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # a write happened while we validated: the result may be stale
            if len(self._items) > 50_000:
                self._items.clear()
            self._items[token] = (time.monotonic() + self.ttl, data)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._items.clear()


# -- rendering helpers (plain dicts kept in TokenData) ---------------------------


def _ref(row: Project) -> dict[str, str]:
    return {"id": row.id, "name": row.name}


def _user_ref(db: Session, user: User) -> dict[str, Any]:
    domain = db.get(Project, user.domain_id)
    current = passwords.current_password(db, user.id)
    expires = current.expires_at if current else None
    return {
        "id": user.id,
        "name": user.name,
        "domain": _ref(domain) if domain else {"id": user.domain_id, "name": None},
        "password_expires_at": _iso(expires) if expires else None,
    }


def _project_ref(db: Session, project: Project) -> dict[str, Any]:
    domain = db.get(Project, project.domain_id) if project.domain_id != ROOT_DOMAIN else None
    ref: dict[str, Any] = _ref(project)
    ref["domain"] = _ref(domain) if domain else {"id": project.domain_id, "name": None}
    return ref


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the provider ------------------------------------------------------------------


class TokenProvider:
    def __init__(self, formatter: TokenFormatter, settings: IdentitySettings, db_factory: Any) -> None:
        self.formatter = formatter
        self.settings = settings
        self.db = db_factory  # core.db.Database
        self.cache = TokenCache(settings.token_cache_ttl)

    # TokenValidator protocol (core.middleware) ------------------------------------
    def cached(self, token: str) -> RequestContext | None:
        data = self.cache.get(token)
        return data.context("") if data else None

    def context_for(self, token: str, request_id: str) -> RequestContext | None:
        data = self.validate_quietly(token)
        return data.context(request_id) if data else None

    def validate_quietly(self, token: str) -> TokenData | None:
        try:
            return self.validate(token)
        except (NotFound, Unauthorized):
            return None

    # validation ---------------------------------------------------------------------
    def validate(self, token: str, *, allow_expired: bool = False) -> TokenData:
        """A token we issued that is still good, else NotFound (as Keystone answers)."""
        if not allow_expired:
            hit = self.cache.get(token)
            if hit is not None:
                return hit
        payload = self.formatter.decode(token)
        if payload is None:
            raise NotFound("Could not recognize Fernet token")
        now = utcnow()
        if payload.expires_at <= now:
            window = dt.timedelta(seconds=self.settings.allow_expired_window)
            if not allow_expired or payload.expires_at + window <= now:
                raise NotFound("The token has expired.")
        generation = self.cache.generation
        with self.db.read() as db:
            data = self._load(db, token, payload)
        if not allow_expired:
            self.cache.put(token, data, generation)
        return data

    def _load(self, db: Session, token: str, payload: TokenPayload) -> TokenData:
        if self._is_revoked(db, payload):
            raise NotFound("Token has been revoked.")
        user = db.get(User, payload.user_id)
        if user is None or not user.enabled:
            raise NotFound("The user of this token no longer exists or is disabled.")
        user_domain = db.get(Project, user.domain_id)
        if user_domain is None or not user_domain.enabled:
            raise NotFound("The domain of this token's user is disabled.")
        data = TokenData(token=token, payload=payload, user=_user_ref(db, user))
        trust = self._load_trust(db, payload, data) if payload.trust_id else None
        app_cred = self._load_app_cred(db, payload, data) if payload.application_credential_id else None
        # a redelegated trust lends the roles of the first trustor of its chain
        role_user = pedigree(db, trust)[-1].trustor_user_id if trust else user.id
        if payload.project_id:
            project = db.get(Project, payload.project_id)
            if project is None or not project.enabled or not _domain_enabled(db, project.domain_id):
                raise NotFound("The project of this token is disabled or gone.")
            if project.is_domain:
                data.is_domain = True
            data.project = _project_ref(db, project)
            roles = effective_roles(db, role_user, project=project)
        elif payload.domain_id:
            domain = db.get(Project, payload.domain_id)
            if domain is None or not domain.is_domain or not domain.enabled:
                raise NotFound("The domain of this token is disabled or gone.")
            data.domain = _ref(domain)
            roles = effective_roles(db, role_user, domain_id=domain.id)
        elif payload.system:
            data.system = payload.system
            roles = effective_roles(db, role_user, system=True)
        else:
            roles = []
        if trust is not None:
            allowed = implied_closure(db, db.scalars(select(TrustRole.role_id).where(TrustRole.trust_id == trust.id)))
            roles = [r for r in roles if r.id in allowed]
        if app_cred is not None:
            allowed = implied_closure(
                db,
                db.scalars(
                    select(ApplicationCredentialRole.role_id).where(ApplicationCredentialRole.application_credential_id == app_cred.id)
                ),
            )
            roles = [r for r in roles if r.id in allowed]
        if (payload.project_id or payload.domain_id or payload.system) and not roles:
            raise NotFound("The user no longer holds any role on the token's scope.")
        data.roles = [{"id": r.id, "name": r.name} for r in roles]
        return data

    def _load_trust(self, db: Session, payload: TokenPayload, data: TokenData) -> Trust:
        trust = db.get(Trust, payload.trust_id)
        if trust is None or trust.deleted_at is not None:
            raise NotFound("The trust of this token is gone.")
        if trust.expires_at is not None and trust.expires_at <= utcnow():
            raise NotFound("The trust of this token has expired.")
        for uid in {u for t in pedigree(db, trust) for u in (t.trustor_user_id, t.trustee_user_id)}:
            u = db.get(User, uid)
            if u is None or not u.enabled:
                raise NotFound("A user of this token's trust is disabled or gone.")
        data.trust = {
            "id": trust.id,
            "impersonation": trust.impersonation,
            "trustee_user": {"id": trust.trustee_user_id},
            "trustor_user": {"id": trust.trustor_user_id},
        }
        return trust

    def _load_app_cred(self, db: Session, payload: TokenPayload, data: TokenData) -> ApplicationCredential:
        cred = db.get(ApplicationCredential, payload.application_credential_id)
        if cred is None:
            raise NotFound("The application credential of this token is gone.")
        if cred.expires_at is not None and cred.expires_at <= utcnow():
            raise NotFound("The application credential of this token has expired.")
        rules = db.scalars(
            select(AccessRule)
            .join(ApplicationCredentialAccessRule, ApplicationCredentialAccessRule.access_rule_id == AccessRule.id)
            .where(ApplicationCredentialAccessRule.application_credential_id == cred.id)
        ).all()
        data.application_credential = {"id": cred.id, "name": cred.name, "restricted": not cred.unrestricted}
        if rules:
            data.application_credential["access_rules"] = [
                {"id": r.id, "service": r.service, "path": r.path, "method": r.method} for r in rules
            ]
        return cred

    def _is_revoked(self, db: Session, payload: TokenPayload) -> bool:
        conditions = [RevocationEvent.audit_id.in_(payload.audit_ids), RevocationEvent.user_id == payload.user_id]
        for column, value in (
            (RevocationEvent.project_id, payload.project_id),
            (RevocationEvent.domain_id, payload.domain_id),
            (RevocationEvent.trust_id, payload.trust_id),
            (RevocationEvent.application_credential_id, payload.application_credential_id),
        ):
            if value:
                conditions.append(column == value)
        events = db.scalars(select(RevocationEvent).where(or_(*conditions))).all()
        for event in events:
            if event.issued_before < payload.issued_at:
                continue
            if _event_matches(event, payload):
                return True
        return False

    # issuing ------------------------------------------------------------------------
    def issue(self, db: Session, request: dict[str, Any]) -> TokenData:
        """Authenticate an `auth` request body and return the new token's data."""
        identity = request.get("identity")
        if not isinstance(identity, dict):
            raise BadRequest("Invalid input for field 'identity': it is a required object.")
        methods = identity.get("methods")
        if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
            raise BadRequest("Invalid input for field 'identity/methods': a non-empty list of strings is required.")
        scope = request.get("scope")
        if scope is not None and scope != "unscoped" and not isinstance(scope, dict):
            raise BadRequest("Invalid input for field 'scope': it must be an object.")
        for method in methods:
            if method not in ("password", "token", "application_credential"):
                raise Unauthorized(f"Attempted to authenticate with an unsupported method: {method}.")
            if not isinstance(identity.get(method), dict):
                raise BadRequest(f"Invalid input for field 'identity/{method}': it is a required object.")

        now = utcnow()
        expires = now + dt.timedelta(seconds=self.settings.token_expiration)
        audit_ids = [new_audit_id()]
        user: User | None = None
        app_cred: ApplicationCredential | None = None
        parent: TokenData | None = None
        used: list[str] = []

        if "token" in methods:
            parent = self._authenticate_token(identity["token"])
            user = db.get(User, parent.payload.user_id)
            expires = min(expires, parent.payload.expires_at)
            audit_ids = [new_audit_id(), parent.payload.audit_ids[-1]]
            if parent.payload.trust_id or parent.payload.application_credential_id:
                raise Forbidden("A token created by a trust or an application credential cannot be rescoped.")
            used.extend(m for m in [*parent.payload.methods, "token"] if m not in used)
        if "password" in methods:
            pw_user = self._authenticate_password(db, identity["password"])
            if user is not None and pw_user.id != user.id:
                raise Unauthorized(UNAUTHORIZED)
            user = pw_user
            used.append("password")
        if "application_credential" in methods:
            app_cred, cred_user = self._authenticate_app_cred(db, identity["application_credential"])
            if user is not None and cred_user.id != user.id:
                raise Unauthorized(UNAUTHORIZED)
            user = cred_user
            used.append("application_credential")
            if app_cred.expires_at is not None:
                expires = min(expires, app_cred.expires_at)
        assert user is not None

        payload = TokenPayload(user_id=user.id, methods=used, issued_at=now, expires_at=expires, audit_ids=audit_ids)
        self._apply_scope(db, payload, user, scope, app_cred, parent)
        if payload.trust_id:
            trust = db.get(Trust, payload.trust_id)
            if trust is not None and trust.expires_at is not None:
                payload.expires_at = min(payload.expires_at, trust.expires_at)
        token = self.formatter.encode(payload)
        data = self._load(db, token, payload)
        return data

    def _authenticate_token(self, body: dict[str, Any]) -> TokenData:
        token_id = body.get("id")
        if not isinstance(token_id, str) or not token_id:
            raise BadRequest("Invalid input for field 'identity/token/id': a token id is required.")
        try:
            return self.validate(token_id)
        except (NotFound, Unauthorized):
            # Keystone answers 404 for a dead token used to authenticate; clients tell
            # "bad token" from "bad password" by it
            raise NotFound(f"Could not find token: {token_id[:8]}...") from None

    def _authenticate_password(self, db: Session, body: dict[str, Any]) -> User:
        ref = body.get("user")
        if not isinstance(ref, dict):
            raise BadRequest("Invalid input for field 'identity/password/user': it is a required object.")
        secret = ref.get("password")
        if not isinstance(secret, str):
            raise BadRequest("Invalid input for field 'identity/password/user/password': a string is required.")
        user = self._find_user(db, ref, "identity/password/user")
        if user is None:
            passwords.verify_secret(secret, None, self.settings.password_hash_rounds)
            raise Unauthorized(UNAUTHORIZED)
        current = self.check_password(db, user, secret)
        if not user.enabled:
            raise Unauthorized(f"The account is disabled for user: {user.id}.")
        domain = db.get(Project, user.domain_id)
        if domain is None or not domain.enabled:
            raise Unauthorized(UNAUTHORIZED)
        if passwords.is_expired(user, current):
            raise Unauthorized(f"The password is expired and needs to be changed for user: {user.id}.")
        if user.failed_auth_count:
            self._reset_failures(user.id)
        return user

    def check_password(self, db: Session, user: User, secret: str) -> Password | None:
        """The user's current password row when `secret` matches it, else 401. A locked
        account is refused; a miss counts toward lockout (in its own transaction, so the
        count survives the request's rollback: call this outside a write transaction)."""
        passwords.check_lockout(user, self.settings)
        current = passwords.current_password(db, user.id)
        if not passwords.verify_secret(secret, current.password_hash if current else None, self.settings.password_hash_rounds):
            self._record_failure(user.id)
            raise Unauthorized(UNAUTHORIZED)
        return current

    def _record_failure(self, user_id: str) -> None:
        if not self.settings.security_compliance.lockout_failure_attempts:
            return
        # its own transaction: the request's read transaction is rolled back with the 401
        with self.db.write() as wdb:
            u = wdb.get(User, user_id)
            if u is not None:
                passwords.record_failure(u, self.settings)

    def _reset_failures(self, user_id: str) -> None:
        with self.db.write() as wdb:
            u = wdb.get(User, user_id)
            if u is not None:
                u.failed_auth_count = 0
                u.failed_auth_at = None

    def _find_user(self, db: Session, ref: dict[str, Any], where: str) -> User | None:
        if isinstance(ref.get("id"), str):
            return db.get(User, ref["id"])
        name = ref.get("name")
        if not isinstance(name, str):
            raise BadRequest(f"Invalid input for field '{where}': an id, or a name and a domain, is required.")
        domain = self._find_domain_ref(db, ref.get("domain"), f"{where}/domain", missing=Unauthorized)
        if domain is None:
            return None
        return db.scalars(select(User).where(User.name == name, User.domain_id == domain.id)).first()

    def _find_domain_ref(self, db: Session, ref: Any, where: str, missing: type[Exception]) -> Project | None:
        if not isinstance(ref, dict) or not (isinstance(ref.get("id"), str) or isinstance(ref.get("name"), str)):
            raise BadRequest(f"Invalid input for field '{where}': an id or a name is required.")
        if isinstance(ref.get("id"), str):
            domain = db.get(Project, ref["id"])
        else:
            domain = db.scalars(select(Project).where(Project.name == ref["name"], Project.domain_id == ROOT_DOMAIN)).first()
        if domain is None or not domain.is_domain:
            if missing is Unauthorized:
                return None
            raise missing(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
        return domain

    def _authenticate_app_cred(self, db: Session, body: dict[str, Any]) -> tuple[ApplicationCredential, User]:
        secret = body.get("secret")
        if not isinstance(secret, str):
            raise BadRequest("Invalid input for field 'identity/application_credential/secret': a string is required.")
        cred: ApplicationCredential | None
        if isinstance(body.get("id"), str):
            cred = db.get(ApplicationCredential, body["id"])
        elif isinstance(body.get("name"), str) and isinstance(body.get("user"), dict):
            owner = self._find_user(db, body["user"], "identity/application_credential/user")
            cred = None
            if owner is not None:
                cred = db.scalars(
                    select(ApplicationCredential).where(
                        ApplicationCredential.name == body["name"], ApplicationCredential.user_id == owner.id
                    )
                ).first()
        else:
            raise BadRequest("Invalid input for field 'identity/application_credential': an id, or a name and a user, is required.")
        rounds = self.settings.password_hash_rounds
        if cred is None or not passwords.verify_secret(secret, cred.secret_hash, rounds):
            raise Unauthorized(UNAUTHORIZED)
        if cred.expires_at is not None and cred.expires_at <= utcnow():
            raise Unauthorized("The application credential has expired.")
        user = db.get(User, cred.user_id)
        if user is None or not user.enabled:
            raise Unauthorized(UNAUTHORIZED)
        return cred, user

    def _apply_scope(
        self,
        db: Session,
        payload: TokenPayload,
        user: User,
        scope: Any,
        app_cred: ApplicationCredential | None,
        parent: TokenData | None,
    ) -> None:
        if app_cred is not None:
            if isinstance(scope, dict) and scope:
                wanted = scope.get("project", {}).get("id") if isinstance(scope.get("project"), dict) else None
                if wanted != app_cred.project_id:
                    raise Unauthorized("An application credential's token is scoped to its own project only.")
            payload.application_credential_id = app_cred.id
            if app_cred.system:
                payload.system = app_cred.system
            else:
                payload.project_id = app_cred.project_id
            return
        if scope is None or scope == "unscoped":
            if scope is None and parent is None and user.default_project_id:
                project = db.get(Project, user.default_project_id)
                if project is not None and project.enabled and effective_roles(db, user.id, project=project):
                    payload.project_id = project.id
            elif parent is not None and scope is None:
                # re-authenticating with a token without a scope keeps the token's scope
                payload.project_id = parent.payload.project_id
                payload.domain_id = parent.payload.domain_id
                payload.system = parent.payload.system
            return
        kinds = [k for k in ("project", "domain", "system", "OS-TRUST:trust") if k in scope]
        if len(kinds) != 1:
            raise BadRequest("Invalid input for field 'scope': exactly one of project, domain, system or OS-TRUST:trust is expected.")
        kind = kinds[0]
        if kind == "project":
            project = self._find_project_ref(db, scope["project"])
            if not project.enabled or not _domain_enabled(db, project.domain_id):
                raise Unauthorized(f"Project {project.id} is disabled.")
            if not effective_roles(db, user.id, project=project):
                raise Unauthorized(f"User {user.id} has no access to project {project.id}.")
            payload.project_id = project.id
        elif kind == "domain":
            domain = self._find_domain_ref(db, scope["domain"], "scope/domain", missing=Unauthorized)
            if domain is None or not domain.enabled:
                raise Unauthorized("Could not find or use the requested domain.")
            if not effective_roles(db, user.id, domain_id=domain.id):
                raise Unauthorized(f"User {user.id} has no access to domain {domain.id}.")
            payload.domain_id = domain.id
        elif kind == "system":
            if scope["system"] != {"all": True}:
                raise BadRequest("Invalid input for field 'scope/system': only {\"all\": true} is supported.")
            if not effective_roles(db, user.id, system=True):
                raise Unauthorized(f"User {user.id} has no access to the system.")
            payload.system = "all"
        else:
            self._apply_trust_scope(db, payload, user, scope["OS-TRUST:trust"])

    def _find_project_ref(self, db: Session, ref: Any) -> Project:
        if not isinstance(ref, dict):
            raise BadRequest("Invalid input for field 'scope/project': it must be an object.")
        project: Project | None
        if isinstance(ref.get("id"), str):
            project = db.get(Project, ref["id"])
        elif isinstance(ref.get("name"), str):
            domain = self._find_domain_ref(db, ref.get("domain"), "scope/project/domain", missing=Unauthorized)
            project = None
            if domain is not None:
                project = db.scalars(select(Project).where(Project.name == ref["name"], Project.domain_id == domain.id)).first()
        else:
            raise BadRequest("Invalid input for field 'scope/project': an id, or a name and a domain, is required.")
        if project is None:
            raise Unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.")
        return project

    def _apply_trust_scope(self, db: Session, payload: TokenPayload, user: User, ref: Any) -> None:
        if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
            raise BadRequest("Invalid input for field 'scope/OS-TRUST:trust/id': a trust id is required.")
        trust = db.get(Trust, ref["id"])
        if trust is None or trust.deleted_at is not None:
            raise NotFound(f"Could not find trust: {ref['id']}.")
        if trust.trustee_user_id != user.id:
            raise Forbidden("The user is not the trustee of this trust.")
        if trust.expires_at is not None and trust.expires_at <= utcnow():
            raise Unauthorized("The trust has expired.")
        if trust.remaining_uses is not None:
            if trust.remaining_uses <= 0:
                raise Unauthorized("The trust has no remaining uses.")
            self._consume_trust_use(trust.id)
        payload.trust_id = trust.id
        payload.project_id = trust.project_id
        if trust.impersonation:
            payload.user_id = trust.trustor_user_id

    def _consume_trust_use(self, trust_id: str) -> None:
        with self.db.write() as wdb:
            t = wdb.get(Trust, trust_id)
            if t is not None and t.remaining_uses is not None:
                t.remaining_uses -= 1

    # revocation -----------------------------------------------------------------------
    def revoke(self, db: Session, **match: Any) -> None:
        """Record a revocation event: every token matching `match` and issued until now
        stops working. The cache is cleared when the request's transaction commits."""
        now = utcnow()
        db.add(
            RevocationEvent(
                issued_before=now,
                revoked_at=now,
                expires_at=now + dt.timedelta(seconds=self.settings.token_expiration + self.settings.allow_expired_window),
                **match,
            )
        )


def _domain_enabled(db: Session, domain_id: str) -> bool:
    domain = db.get(Project, domain_id)
    return domain is None or domain.enabled


def _event_matches(event: RevocationEvent, payload: TokenPayload) -> bool:
    if event.audit_id is not None and event.audit_id not in payload.audit_ids:
        return False
    if event.user_id is not None and event.user_id != payload.user_id:
        return False
    if event.project_id is not None and event.project_id != payload.project_id:
        return False
    if event.domain_id is not None and event.domain_id != payload.domain_id:
        return False
    if event.trust_id is not None and event.trust_id != payload.trust_id:
        return False
    if event.application_credential_id is not None and event.application_credential_id != payload.application_credential_id:
        return False
    if event.role_id is not None:
        return False  # role removals are seen by recomputing roles at validation
    return True


def accessible_projects(db: Session, user_id: str) -> list[Project]:
    """Projects the user holds any role on (directly, via groups, or inherited)."""
    projects = db.scalars(select(Project).where(Project.is_domain.is_(False), Project.enabled.is_(True))).all()
    return [p for p in projects if effective_roles(db, user_id, project=p)]


def accessible_domains(db: Session, user_id: str) -> list[Project]:
    domains = db.scalars(select(Project).where(Project.is_domain.is_(True), Project.enabled.is_(True))).all()
    return [d for d in domains if effective_roles(db, user_id, domain_id=d.id)]


__all__ = ["TokenData", "TokenProvider", "accessible_projects", "accessible_domains", "project_ancestors"]
