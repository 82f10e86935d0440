"""Image data: PUT /file (upload), GET /file (download, with Range), PUT /stage.

Uploads stream straight to a temporary file in the store while md5 and the secure hash
are computed; the content is then inspected against the declared disk_format before the
image turns active. Anything that goes wrong on the way puts the image back to queued
and removes the partial file."""

from __future__ import annotations

import base64
import binascii
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, Response, StreamingResponse

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import BadRequest, Fault, PayloadTooLarge, UnsupportedMediaType, glance_fault

from .. import formats, store
from ..backend import data as backend
from ..backend.imports import check_web_download_uri
from ..models import SAVING, UPLOADING

log = logging.getLogger("pocketstack.image")
api = ApiRouter(glance_fault)


class ImageFileResponse(FileResponse):
    chunk_size = 4 * 1024 * 1024  # fewer, larger reads and writes: multi-GB downloads at disk speed


@api.route("PUT", "/v2/images/{image_id}/file", status=204, stream=True)
async def upload_image_data(call: Call) -> None:
    await _receive(call, staging=False)


@api.route("PUT", "/v2/images/{image_id}/stage", status=204, stream=True)
async def stage_image_data(call: Call) -> None:
    await _receive(call, staging=True)


async def _receive(call: Call, *, staging: bool) -> None:
    _require_octet_stream(call)
    service = call.cloud.image
    image_id = call.params["image_id"]
    plan = await call.transaction(
        lambda db: backend.begin_upload(db, call.ctx, call.authorize, image_id, service.options.max_image_size, staging=staging)
    )
    status = UPLOADING if staging else SAVING
    target = service.stores.staging if staging else service.stores.default
    temp = target.new_temp()
    try:
        received = await store.receive(call.request.stream(), temp, service.options.hash_algo, plan.limit)
        _check_integrity(call, received)
        if staging:
            target.commit(temp, image_id)
            await call.transaction(lambda db: backend.finish_stage(db, image_id, received, socket.gethostname()))
            return
        strict = service.options.require_format_match
        inspection = await run_in_threadpool(lambda: formats.inspect(temp, plan.disk_format, require_format_match=strict))
        await call.transaction(lambda db: _finish_upload(db, service, image_id, received, inspection))
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if staging:
            target.delete(image_id)
        await call.transaction(lambda db: backend.abort_upload(db, image_id, status))
        raise _as_fault(exc, plan.limit) from None


def _finish_upload(db: Any, service: Any, image_id: str, received: store.Received, inspection: formats.Inspection) -> None:
    image = backend.finish_upload(db, image_id, received, inspection, service.stores.default.id, service.options.hash_algo)
    service.stores.default.commit(received.path, image.id)


def _as_fault(exc: BaseException, limit: int) -> BaseException:
    if isinstance(exc, Fault):
        return exc
    if isinstance(exc, store.DataTooLarge):
        return PayloadTooLarge(f"Image data exceeds the size allowed for this upload ({limit} bytes: quota or size cap).")
    if isinstance(exc, formats.ImageRejected):
        return BadRequest(f"Image data was refused: {exc}")
    if isinstance(exc, ClientDisconnect):
        log.info("client went away during an upload; the image stays queued")
        return BadRequest("The upload was interrupted before all data arrived; the image stays queued.")
    return exc


def _require_octet_stream(call: Call) -> None:
    media_type = call.request.headers.get("content-type", "").split(";")[0].strip()
    if media_type != "application/octet-stream":
        raise UnsupportedMediaType(f"Image data must be sent as application/octet-stream, not {media_type or '(none)'!r}.")


def _check_integrity(call: Call, received: store.Received) -> None:
    """What the client said it sent must be what arrived: Content-Length, Content-MD5."""
    declared = call.request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != received.size:
        raise BadRequest(f"Only {received.size} of the {declared} bytes announced arrived; the image stays queued.")
    md5 = call.request.headers.get("content-md5")
    if md5 is not None and _md5_hex(md5) != received.checksum:
        raise BadRequest("The data does not match its Content-MD5 checksum; the image stays queued.")


def _md5_hex(header: str) -> str:
    """Content-MD5 is base64 of the digest (RFC 1864); accept the hex spelling too."""
    value = header.strip()
    if len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        raise BadRequest("The Content-MD5 header is not a base64 (or hex) MD5 digest.") from None


def _from_location(call: Call, url: str, checksum: str | None) -> Response:
    """Data of the http store, relayed from its URL as it arrives. Whole: a server may
    answer a Range request with all of it, as the HTTP rules allow."""
    check_web_download_uri(url, call.cloud.image.options)  # the allow-list may have shrunk since

    async def relay() -> AsyncIterator[bytes]:
        async with httpx.AsyncClient(timeout=60, follow_redirects=False) as client, client.stream("GET", url) as reply:
            if reply.status_code != 200:
                log.error("image location %s answered %s during a download", url, reply.status_code)
                return
            async for chunk in reply.aiter_bytes(store.BLOCK):
                yield chunk

    headers = {"Content-MD5": checksum} if checksum else {}
    return StreamingResponse(relay(), media_type="application/octet-stream", headers=headers)


@api.route("GET", "/v2/images/{image_id}/file")
def download_image_data(call: Call) -> Response:
    service = call.cloud.image
    image = backend.download_source(call.db, call.ctx, call.authorize, call.params["image_id"])
    if not backend.has_data(image):
        return Response(status_code=204)
    path = service.cache.path(image.id)
    if path is None and not image.stores:
        return _from_location(call, image.locations[0]["url"], image.checksum)
    path = path or service.stores.locate(image.id, image.stores)
    if path is None:
        log.error("image %s is %s but no store holds its data", image.id, image.status)
        raise Fault(f"The data of image {image.id} is missing from its store.")
    # the checksum describes the whole file, not a Range of it
    whole = "range" not in call.request.headers
    headers = {"Content-MD5": image.checksum} if image.checksum and whole else {}
    return ImageFileResponse(path, media_type="application/octet-stream", headers=headers)
