"""Errors every service raises, and the wire formats OpenStack services render them in.

Backends raise `Fault` subclasses; each service's API picks the renderer that matches
its OpenStack counterpart (Keystone: {"error": {...}}, Nova/Cinder: {"itemNotFound": ...},
Neutron: {"NeutronError": ...}). Nothing else turns exceptions into responses.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response


class Fault(Exception):
    status = 500
    # Nova-style key for the error body ("badRequest", "itemNotFound", ...)
    nova_key = "computeFault"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class BadRequest(Fault):
    status = 400
    nova_key = "badRequest"


class Unauthorized(Fault):
    status = 401
    nova_key = "unauthorized"


class Forbidden(Fault):
    status = 403
    nova_key = "forbidden"


class NotFound(Fault):
    status = 404
    nova_key = "itemNotFound"


class MethodNotAllowed(Fault):
    status = 405
    nova_key = "badMethod"


class NotAcceptable(Fault):
    status = 406
    nova_key = "notAcceptable"


class Conflict(Fault):
    status = 409
    nova_key = "conflictingRequest"


class Gone(Fault):
    status = 410
    nova_key = "computeFault"  # Nova's key for a status it has no name of its own for


class PayloadTooLarge(Fault):
    status = 413
    nova_key = "overLimit"


class UnsupportedMediaType(Fault):
    status = 415
    nova_key = "mediaTypeNotSupported"


class NotImplementedFault(Fault):
    status = 501
    nova_key = "notImplemented"


class ServiceUnavailable(Fault):
    status = 503
    nova_key = "serviceUnavailable"


FaultRenderer = Callable[[Fault, dict[str, str]], Response]


def keystone_fault(fault: Fault, headers: dict[str, str]) -> Response:
    body: dict[str, Any] = {"error": {"code": fault.status, "title": fault.title, "message": fault.message}}
    return JSONResponse(body, status_code=fault.status, headers={**headers, **fault.headers})


def nova_fault(fault: Fault, headers: dict[str, str]) -> Response:
    body = {fault.nova_key: {"code": fault.status, "message": fault.message}}
    return JSONResponse(body, status_code=fault.status, headers={**headers, **fault.headers})


# what Neutron calls the generic faults (webob's names; a policy refusal is oslo.policy's)
NEUTRON_GENERIC_TYPES = {
    BadRequest: "HTTPBadRequest",
    Unauthorized: "HTTPUnauthorized",
    Forbidden: "PolicyNotAuthorized",
    NotFound: "HTTPNotFound",
    MethodNotAllowed: "HTTPMethodNotAllowed",
    NotAcceptable: "HTTPNotAcceptable",
    Conflict: "HTTPConflict",
    PayloadTooLarge: "HTTPRequestEntityTooLarge",
    UnsupportedMediaType: "HTTPUnsupportedMediaType",
    NotImplementedFault: "HTTPNotImplemented",
    ServiceUnavailable: "HTTPServiceUnavailable",
    Fault: "HTTPInternalServerError",
}


def neutron_fault(fault: Fault, headers: dict[str, str]) -> Response:
    """{"NeutronError": {"type": ..., "message": ..., "detail": ""}}: the type is the
    fault's own class name (NetworkNotFound, IpAddressAlreadyAllocated...), or webob's
    name for the generic ones."""
    kind = NEUTRON_GENERIC_TYPES.get(type(fault), type(fault).__name__)
    body = {"NeutronError": {"type": kind, "message": fault.message, "detail": ""}}
    return JSONResponse(body, status_code=fault.status, headers={**headers, **fault.headers})


def glance_fault(fault: Fault, headers: dict[str, str]) -> Response:
    """Glance answers errors the way WebOb renders an HTTP exception for a JSON client."""
    code = f"{fault.status} {fault.title}"
    body = {"message": fault.message, "code": code, "title": fault.title}
    return JSONResponse(body, status_code=fault.status, headers={**headers, **fault.headers})
