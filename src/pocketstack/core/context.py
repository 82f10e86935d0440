"""Who is calling: the identity behind a validated token, carried through one request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    authenticated: bool = False
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None  # set for domain-scoped tokens
    system_scope: str | None = None  # "all" for system-scoped tokens
    roles: frozenset[str] = frozenset()  # role names, implied roles included
    role_ids: frozenset[str] = frozenset()
    token: str | None = field(default=None, repr=False)
    audit_id: str | None = None
    trust_id: str | None = None
    application_credential_id: str | None = None
    auth_methods: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_system_admin(self) -> bool:
        return self.system_scope == "all" and "admin" in self.roles

    @property
    def scope_type(self) -> str | None:
        if self.system_scope:
            return "system"
        if self.domain_id:
            return "domain"
        if self.project_id:
            return "project"
        return None

    def policy_credentials(self) -> dict[str, Any]:
        """The names policy rules may test ("user_id:%(target.user.id)s", "role:admin")."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": self.roles,
            "trust_id": self.trust_id,
            "application_credential_id": self.application_credential_id,
        }
