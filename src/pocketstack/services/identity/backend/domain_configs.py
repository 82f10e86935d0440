"""Domain-specific configuration (/v3/domains/{id}/config): the [identity] and [ldap]
options a domain may override. Only the options Keystone allows are accepted; the
sensitive ones (the LDAP password) are stored but never shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.config import Settings
from pocketstack.core.faults import Forbidden, NotFound

from ..models import DomainConfig

# Keystone's default [ldap] values for the options a domain may set (None: unset)
LDAP_DEFAULTS: dict[str, Any] = {
    "url": "ldap://localhost",
    "user": None,
    "suffix": "cn=example,cn=com",
    "query_scope": "one",
    "page_size": 0,
    "alias_dereferencing": "default",
    "debug_level": None,
    "chase_referrals": None,
    "user_tree_dn": None,
    "user_filter": None,
    "user_objectclass": "inetOrgPerson",
    "user_id_attribute": "cn",
    "user_name_attribute": "sn",
    "user_mail_attribute": "mail",
    "user_description_attribute": "description",
    "user_pass_attribute": "userPassword",
    "user_enabled_attribute": "enabled",
    "user_enabled_invert": False,
    "user_enabled_mask": 0,
    "user_enabled_default": "True",
    "user_attribute_ignore": ["default_project_id"],
    "user_default_project_id_attribute": None,
    "user_enabled_emulation": False,
    "user_enabled_emulation_dn": None,
    "user_enabled_emulation_use_group_config": False,
    "user_additional_attribute_mapping": [],
    "group_tree_dn": None,
    "group_filter": None,
    "group_objectclass": "groupOfNames",
    "group_id_attribute": "cn",
    "group_name_attribute": "ou",
    "group_members_are_ids": False,
    "group_member_attribute": "member",
    "group_desc_attribute": "description",
    "group_attribute_ignore": [],
    "group_additional_attribute_mapping": [],
    "tls_cacertfile": None,
    "tls_cacertdir": None,
    "use_tls": False,
    "tls_req_cert": "demand",
    "use_pool": True,
    "pool_size": 10,
    "pool_retry_max": 3,
    "pool_retry_delay": 0.1,
    "pool_connection_timeout": -1,
    "pool_connection_lifetime": 600,
    "use_auth_pool": True,
    "auth_pool_size": 100,
    "auth_pool_connection_lifetime": 60,
}
# options that may be stored and read back
WHITELISTED: dict[str, list[str]] = {"identity": ["driver", "list_limit"], "ldap": list(LDAP_DEFAULTS)}
# options that may be stored but are never shown
SENSITIVE: dict[str, list[str]] = {"identity": [], "ldap": ["password"]}
# the one group read from the cloud's own settings, for the default domain only
SECURITY_COMPLIANCE = "security_compliance"
READABLE_COMPLIANCE = ("password_regex", "password_regex_description")

Config = dict[str, dict[str, Any]]


def _invalid(reason: str) -> Forbidden:
    return Forbidden(f"Invalid domain specific configuration: {reason}.")


def _not_found(domain_id: str, group: str | None, option: str | None) -> NotFound:
    what = f"option {option} in group {group}" if option else f"group {group}" if group else "any options"
    return NotFound(f"Could not find {what} in domain configuration for domain {domain_id}.")


def check_group_option(group: str | None, option: str | None) -> None:
    if group is None:
        return
    if group not in WHITELISTED and group not in SENSITIVE:
        raise _invalid(f"Group {group} is not supported for domain specific configurations")
    if option is not None and option not in WHITELISTED.get(group, []) and option not in SENSITIVE.get(group, []):
        raise _invalid(f"Option {option} in group {group} is not supported for domain specific configurations")


def check_config(config: Any) -> Config:
    if not config or not isinstance(config, dict):
        raise _invalid("No options specified")
    for group, options in config.items():
        if not options or not isinstance(options, dict):
            raise _invalid(f"The value of group {group} specified in the config should be a dictionary of options")
        for option in options:
            check_group_option(group, option)
    return config


def _rows(db: Session, domain_id: str, group: str | None = None, option: str | None = None, *, sensitive: bool | None = None) -> list[DomainConfig]:
    q = select(DomainConfig).where(DomainConfig.domain_id == domain_id)
    if group is not None:
        q = q.where(DomainConfig.group == group)
    if option is not None:
        q = q.where(DomainConfig.option == option)
    if sensitive is not None:
        q = q.where(DomainConfig.sensitive.is_(sensitive))
    return list(db.scalars(q.order_by(DomainConfig.group, DomainConfig.option)))


def _as_config(rows: list[DomainConfig]) -> Config:
    config: Config = {}
    for row in rows:
        config.setdefault(row.group, {})[row.option] = row.value
    return config


def _store(db: Session, domain_id: str, config: Config) -> None:
    for group, options in config.items():
        for option, value in options.items():
            row = db.get(DomainConfig, (domain_id, group, option))
            if row is None:
                sensitive = option in SENSITIVE.get(group, [])
                db.add(DomainConfig(domain_id=domain_id, group=group, option=option, value=value, sensitive=sensitive))
            else:
                row.value = value
    db.flush()


def has_config(db: Session, domain_id: str) -> bool:
    return bool(_rows(db, domain_id))


def create_config(db: Session, domain_id: str, config: Any) -> Config:
    """Replace the domain's whole configuration; returns what may be shown of it."""
    config = check_config(config)
    db.execute(delete(DomainConfig).where(DomainConfig.domain_id == domain_id))
    _store(db, domain_id, config)
    return _as_config(_rows(db, domain_id, sensitive=False))


def get_config(db: Session, domain_id: str, group: str | None = None, option: str | None = None) -> dict[str, Any]:
    check_group_option(group, option)
    rows = _rows(db, domain_id, group, option, sensitive=False)
    if not rows:
        raise _not_found(domain_id, group, option)
    if option is not None:
        return {option: rows[0].value}
    return _as_config(rows)


def update_config(db: Session, domain_id: str, config: Any, group: str | None = None, option: str | None = None) -> dict[str, Any]:
    """Merge options into the configuration. With a group (or option) in the path the
    body must hold that group (or option) alone, and it must already be set."""
    if group is not None and option is not None:
        config = {group: config}  # the body is {option: value}
    config = check_config(config)
    check_group_option(group, option)
    if group is not None:
        if list(config) != [group] or (option is not None and list(config[group]) != [option]):
            only = f"option {option} in group {group}" if option else f"group {group}"
            raise _invalid(f"Trying to update {only}, so that, and only that, must be specified in the config")
        if not _rows(db, domain_id, group, option):
            raise _not_found(domain_id, group, option)
    _store(db, domain_id, config)
    return get_config(db, domain_id)


def delete_config(db: Session, domain_id: str, group: str | None = None, option: str | None = None) -> None:
    check_group_option(group, option)
    if group is not None and not _rows(db, domain_id, group, option):
        raise _not_found(domain_id, group, option)
    q = delete(DomainConfig).where(DomainConfig.domain_id == domain_id)
    if group is not None:
        q = q.where(DomainConfig.group == group)
    if option is not None:
        q = q.where(DomainConfig.option == option)
    db.execute(q)


def default_config(settings: Settings, group: str | None = None, option: str | None = None) -> dict[str, Any]:
    """What a domain gets when it sets nothing: the cloud's own values."""
    check_group_option(group, option)
    defaults: Config = {
        "identity": {"driver": "sql", "list_limit": settings.identity.list_limit},
        "ldap": dict(LDAP_DEFAULTS),
    }
    if option is not None:
        if option not in WHITELISTED[group or ""]:
            raise _invalid(f"Reading the default for option {option} in group {group} is not supported")
        return {option: defaults[group or ""][option]}
    if group is not None:
        return {group: defaults[group]}
    return defaults


def security_compliance(settings: Settings, domain_id: str, option: str | None = None) -> dict[str, Any]:
    """The password rules users are told about; the default domain's only."""
    if domain_id != "default":
        raise _invalid("Reading security compliance information for any domain other than the default domain is not allowed or supported")
    if option is not None and option not in READABLE_COMPLIANCE:
        raise _invalid("Reading security compliance values other than password_regex and password_regex_description is not allowed")
    rules = settings.identity.security_compliance
    values = {name: getattr(rules, name) for name in READABLE_COMPLIANCE}
    if option is not None:
        return {option: values[option]}
    return {SECURITY_COMPLIANCE: values}
