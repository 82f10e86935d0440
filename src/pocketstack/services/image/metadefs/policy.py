"""Who may do what with the metadefs catalog: Glance's secure-RBAC defaults.

Reading: a public namespace (and everything in it) is readable by any reader; a private
one only by readers of the owning project, and admins read everything. Writing is for
admins (`image:metadef_admin`, one knob an operator can widen, as Glance's
`metadef_admin`). Targets carry the namespace's `owner` and `visibility`; the calls that
concern no namespace (listing, creating one) pass the caller's project as `owner`.

A caller who may not read a namespace gets 404 for anything inside it, never 403, so
private namespaces stay invisible; 403 is for namespaces the caller can see.
"""

ADMIN = "role:admin"
METADEF_ADMIN = "rule:image:metadef_admin"
READER = "role:reader"
# the namespace is the caller's, or public
READ_NAMESPACE = f"{ADMIN} or (role:reader and (project_id:%(target.owner)s or 'public':%(target.visibility)s))"

RULES: dict[str, str] = {
    "image:metadef_admin": ADMIN,
    # namespaces
    "image:get_metadef_namespace": READ_NAMESPACE,
    "image:get_metadef_namespaces": f"{ADMIN} or {READER}",
    "image:add_metadef_namespace": METADEF_ADMIN,
    "image:modify_metadef_namespace": METADEF_ADMIN,
    "image:delete_metadef_namespace": METADEF_ADMIN,
    # objects
    "image:get_metadef_object": READ_NAMESPACE,
    "image:get_metadef_objects": READ_NAMESPACE,
    "image:add_metadef_object": METADEF_ADMIN,
    "image:modify_metadef_object": METADEF_ADMIN,
    "image:delete_metadef_object": METADEF_ADMIN,
    # properties
    "image:get_metadef_property": READ_NAMESPACE,
    "image:get_metadef_properties": READ_NAMESPACE,
    "image:add_metadef_property": METADEF_ADMIN,
    "image:modify_metadef_property": METADEF_ADMIN,
    "image:remove_metadef_property": METADEF_ADMIN,
    # tags
    "image:get_metadef_tag": READ_NAMESPACE,
    "image:get_metadef_tags": READ_NAMESPACE,
    "image:add_metadef_tag": METADEF_ADMIN,
    "image:add_metadef_tags": METADEF_ADMIN,
    "image:modify_metadef_tag": METADEF_ADMIN,
    "image:delete_metadef_tag": METADEF_ADMIN,
    "image:delete_metadef_tags": METADEF_ADMIN,
    # resource types and their associations with namespaces
    "image:list_metadef_resource_types": READ_NAMESPACE,
    "image:get_metadef_resource_type": READ_NAMESPACE,
    "image:add_metadef_resource_type_association": METADEF_ADMIN,
    "image:remove_metadef_resource_type_association": METADEF_ADMIN,
}
