"""The metadata service (Nova's metadata API) for guests, behind the networking service's
metadata proxy: /compute/metadata/openstack/<version>/meta_data.json, user_data,
network_data.json, vendor_data*.json, password (which the guest may also POST, once; see
backend/server_password.py), and the EC2-style /compute/metadata/<version>/
meta-data/... and user-data. The proxy names the server in X-Instance-ID and proves it
with X-Instance-ID-Signature (see metadata.py); no Keystone token is involved."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import PlainTextResponse, Response

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Forbidden, NotFound, nova_fault

from .. import metadata
from ..backend import server_password
from ..models import Server

api = ApiRouter(nova_fault)

JSON_FILES = (".json",)


def _server(call: Call) -> Server:
    instance_id = call.request.headers.get("X-Instance-ID")
    signature = call.request.headers.get("X-Instance-ID-Signature")
    if not instance_id or not signature:
        raise BadRequest("X-Instance-ID and X-Instance-ID-Signature headers are required.")
    options = call.cloud.settings
    secret = metadata.shared_secret(options.data_dir, options.compute.metadata_proxy_shared_secret)
    if not metadata.signature_ok(secret, instance_id, signature):
        raise Forbidden("Invalid proxy request signature.")
    server = call.db.scalars(select(Server).where(Server.uuid == instance_id, Server.deleted.is_(False))).first()
    if server is None:
        raise NotFound("Instance not found.")
    return server


def _files(call: Call, server: Server) -> dict[str, bytes]:
    files = metadata.instance_files(server, network_data=call.cloud.compute.network_data(server))
    return {**files, **server_password.metadata_files(server)}


def _text(body: str | bytes, path: str) -> Response:
    media = "application/json" if path.endswith(JSON_FILES) else "text/plain"
    return Response(body, media_type=media)


@api.route("GET", "/metadata/openstack")
def openstack_versions(call: Call) -> Response:
    files = _files(call, _server(call))
    return PlainTextResponse(metadata.openstack_listing(files, "openstack") or "")


@api.route("GET", "/metadata/openstack/{path:path}")
def openstack_file(call: Call) -> Response:
    return _openstack_answer(call, _server(call), "openstack/" + call.params["path"].strip("/"))


@api.route("POST", "/metadata/openstack/{path:path}")
def openstack_post(call: Call) -> Response:
    """Nova answers a POST as a GET, except on the password file, which stores the body."""
    server = _server(call)
    path = "openstack/" + call.params["path"].strip("/")
    if server_password.is_password_path(path):
        server_password.set_by_guest(server, call.raw_body)
        return PlainTextResponse("")
    return _openstack_answer(call, server, path)


def _openstack_answer(call: Call, server: Server, path: str) -> Response:
    files = _files(call, server)
    if path in files:
        return _text(files[path], path)
    listing = metadata.openstack_listing(files, path)
    if listing is None:
        raise NotFound("The resource could not be found.")
    return PlainTextResponse(listing)


@api.route("GET", "/metadata/{version}/user-data")
def ec2_user_data(call: Call) -> Response:
    files = _files(call, _server(call))
    data = files.get(f"ec2/{_ec2_version(call.params['version'])}/user-data")
    if data is None:
        raise NotFound("The resource could not be found.")
    return Response(data, media_type="text/plain")


@api.route("GET", "/metadata/{version}/meta-data")
def ec2_meta_data_root(call: Call) -> Response:
    return _ec2(call, [])


@api.route("GET", "/metadata/{version}/meta-data/{path:path}")
def ec2_meta_data(call: Call) -> Response:
    return _ec2(call, [part for part in call.params["path"].split("/") if part])


def _ec2_version(version: str) -> str:
    return "latest" if version == "latest" else "2009-04-04"


def _ec2(call: Call, path: list[str]) -> Response:
    files = _files(call, _server(call))
    tree = metadata.ec2_tree(files, _ec2_version(call.params["version"]))
    answer = None if tree is None else metadata.ec2_answer(tree, path)
    if answer is None:
        raise NotFound("The resource could not be found.")
    return PlainTextResponse(answer)
