"""Who may do what in the image API: Glance's secure-RBAC defaults, in one place.

Who may *see* an image (owner, public, community, accepted member) is decided in the
backend's queries, as Glance does; these rules decide what a viewer may do with it.
Targets carry the image's `owner` and `visibility` and, for member calls, `member_id`.
"""

from .metadefs import policy as metadefs_policy

ADMIN = "role:admin"
OWNER_MEMBER = "role:member and project_id:%(target.owner)s"
OWNER_READER = "role:reader and project_id:%(target.owner)s"
MEMBER = "role:member"
READER = "role:reader"
ADMIN_OR_OWNER = f"{ADMIN} or ({OWNER_MEMBER})"

RULES: dict[str, str] = {
    "image:context_is_admin": ADMIN,
    # images: any member may create in their own project; visibility is checked in code
    "image:add_image": f"{ADMIN} or (role:member and project_id:%(target.owner)s)",
    "image:get_image": f"{ADMIN} or {READER}",
    "image:get_images": f"{ADMIN} or {READER}",
    "image:modify_image": ADMIN_OR_OWNER,
    "image:delete_image": ADMIN_OR_OWNER,
    "image:publicize_image": ADMIN,
    "image:communitize_image": ADMIN_OR_OWNER,
    "image:upload_image": ADMIN_OR_OWNER,
    "image:download_image": f"{ADMIN} or {READER}",
    "image:deactivate": ADMIN_OR_OWNER,
    "image:reactivate": ADMIN_OR_OWNER,
    "image:set_image_location": ADMIN_OR_OWNER,
    "image:add_image_location": ADMIN_OR_OWNER,
    "image:stage_image": ADMIN_OR_OWNER,
    "image:import_image": ADMIN_OR_OWNER,
    # copy-image writes to stores on the operator's behalf
    "image:copy_image": ADMIN,
    "image:delete_image_location": ADMIN,
    "image:get_image_location": ADMIN,
    # members: the owner shares; the member project accepts or rejects
    "image:add_member": ADMIN_OR_OWNER,
    "image:delete_member": ADMIN_OR_OWNER,
    "image:get_members": f"{ADMIN} or ({OWNER_READER}) or (role:reader and project_id:%(target.member_id)s)",
    "image:get_member": f"{ADMIN} or ({OWNER_READER}) or (role:reader and project_id:%(target.member_id)s)",
    "image:modify_member": f"{ADMIN} or (role:member and project_id:%(target.member_id)s)",
    # tasks and discovery
    "image:get_task": ADMIN,
    "image:get_tasks": ADMIN,
    "image:add_task": ADMIN,
    "image:modify_task": ADMIN,
    "image:tasks_api_access": ADMIN,
    "image:get_image_tasks": f"{ADMIN} or ({OWNER_READER})",
    "image:stores_info_detail": ADMIN,
    "image:manage_image_cache": ADMIN,
    **metadefs_policy.RULES,
}
