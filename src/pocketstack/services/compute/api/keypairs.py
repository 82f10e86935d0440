"""os-keypairs: a user's SSH keys (and WinRM x509 certificates) to inject into servers.

    POST   /v2.1/os-keypairs          import, or generate before 2.92 (200 at 2.1, 201 from 2.2)
    GET    /v2.1/os-keypairs          list (limit/marker from 2.35, user_id for admins from 2.10)
    GET    /v2.1/os-keypairs/{name}   show
    DELETE /v2.1/os-keypairs/{name}   delete (202 at 2.1, 204 from 2.2)

Keypairs belong to users: nobody sees another user's keys, even in the same project,
unless an admin names that user with user_id (2.10+)."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call, validate
from pocketstack.core.faults import BadRequest, nova_fault

from ..backend import keypairs as backend
from ..backend.quotas import check_key_pair_quota
from ..schemas import keypairs as schemas
from ..views import keypairs as views

api = ApiRouter(nova_fault)

COLLECTION = "/v2.1/os-keypairs"
ITEM = "/v2.1/os-keypairs/{name}"
# the query parameters GET /os-keypairs knows; from 2.75 anything else is refused
LIST_QUERY_PARAMETERS = {"user_id", "limit", "marker"}


@api.route("POST", COLLECTION, status=200, max_version="2.1")
def create_keypair_21(call: Call) -> dict[str, Any]:
    return _create(call)


@api.route("POST", COLLECTION, status=201, min_version="2.2")
def create_keypair(call: Call) -> dict[str, Any]:
    return _create(call)


@api.route("GET", COLLECTION)
def list_keypairs(call: Call) -> dict[str, Any]:
    if call.version >= "2.75":
        unknown = sorted(set(call.query) - LIST_QUERY_PARAMETERS)
        if unknown:
            raise BadRequest(f"Invalid input for query parameters: additional properties are not allowed ({', '.join(unknown)} unexpected)")
    user_id = _user_of(call)
    call.authorize("os_compute_api:os-keypairs:index", {"user_id": user_id})
    if call.version < "2.35":
        return {"keypairs": views.collection(backend.list_keypairs(call.db, user_id), call.version)}
    page_size = _limit(call)
    keypairs = backend.list_keypairs(call.db, user_id, limit=page_size, marker=call.query.get("marker"))
    body: dict[str, Any] = {"keypairs": views.collection(keypairs, call.version)}
    links = views.next_links(call.url(COLLECTION), keypairs, page_size, dict(call.query))
    if links:
        body["keypairs_links"] = links
    return body


@api.route("GET", ITEM)
def show_keypair(call: Call) -> dict[str, Any]:
    user_id = _user_of(call)
    call.authorize("os_compute_api:os-keypairs:show", {"user_id": user_id})
    return {"keypair": views.detail(backend.get_keypair(call.db, user_id, call.params["name"]), call.version)}


@api.route("DELETE", ITEM, status=202, max_version="2.1")
def delete_keypair_21(call: Call) -> None:
    _delete(call)


@api.route("DELETE", ITEM, status=204, min_version="2.2")
def delete_keypair(call: Call) -> None:
    _delete(call)


def _create(call: Call) -> dict[str, Any]:
    data = call.json()
    if not isinstance(data, dict) or "keypair" not in data:
        raise BadRequest("Invalid input for field/attribute keypair: 'keypair' is a required property.")
    extra = sorted(set(data) - {"keypair"})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, extra))} was unexpected)")
    if not isinstance(data["keypair"], dict):
        raise BadRequest("Invalid input for field/attribute keypair: it must be an object.")
    request = validate(schemas.create_model(call.version), data["keypair"], "keypair.")
    user_id = request.for_user or call.ctx.user_id
    call.authorize("os_compute_api:os-keypairs:create", {"user_id": user_id})
    check_key_pair_quota(call.db, call.cloud.settings.compute, call.ctx.project_id, user_id)
    if request.public_key is not None:
        keypair = backend.import_keypair(call.db, user_id, request.name, request.public_key, request.key_type)
        return {"keypair": views.created(keypair, call.version)}
    keypair, private_key = backend.generate_keypair(call.db, user_id, request.name, request.key_type)
    return {"keypair": views.created(keypair, call.version, private_key)}


def _delete(call: Call) -> None:
    user_id = _user_of(call)
    call.authorize("os_compute_api:os-keypairs:delete", {"user_id": user_id})
    backend.delete_keypair(call.db, user_id, call.params["name"])


def _user_of(call: Call) -> str:
    """Whose keypairs: the caller's own, or (2.10+) the user_id the query names, which
    policy lets only admins point at someone else."""
    if call.version >= "2.10" and call.query.get("user_id"):
        return call.query["user_id"]
    return call.ctx.user_id


def _limit(call: Call) -> int:
    """Nova's page size: the limit asked for (a non-negative integer), at most max_limit."""
    raw = call.query.get("limit")
    if raw is None:
        return backend.MAX_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest("limit param must be an integer" if not raw.lstrip("-").isdigit() else "limit param must be positive")
    return min(int(raw), backend.MAX_PAGE_SIZE)
