"""Who may do what in the compute API: Nova's secure-RBAC defaults, in one place.

Targets carry `project_id` (and `user_id` for keypairs) of the resource concerned."""

ADMIN = "role:admin"
PROJECT_READER = "role:reader and project_id:%(target.project_id)s"
ADMIN_OR_OWNER_USER = f"{ADMIN} or user_id:%(target.user_id)s"

RULES: dict[str, str] = {
    "compute:context_is_admin": ADMIN,
    # flavors: everyone reads the public ones; admins manage them and their access
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-manage:update": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": "role:reader",
    "os_compute_api:os-flavor-extra-specs:show": "role:reader",
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    # keypairs: a user's own; admins may name another user (user_id query/body, 2.10+)
    "os_compute_api:os-keypairs:index": ADMIN_OR_OWNER_USER,
    "os_compute_api:os-keypairs:create": ADMIN_OR_OWNER_USER,
    "os_compute_api:os-keypairs:show": ADMIN_OR_OWNER_USER,
    "os_compute_api:os-keypairs:delete": ADMIN_OR_OWNER_USER,
}
