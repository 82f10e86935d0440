"""One ASGI app for the whole cloud: every service under its own path prefix
(DevStack's layout: /identity, /compute/v2.1, /image, ...), behind one middleware."""

from __future__ import annotations

import logging
from typing import Any

from starlette.datastructures import State
from starlette.responses import JSONResponse
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from pocketstack.config import Settings
from pocketstack.core.api import not_found_app
from pocketstack.core.db import Database
from pocketstack.core.faults import keystone_fault
from pocketstack.core.middleware import RequestMiddleware
from pocketstack.core.policy import Enforcer
from pocketstack.services.compute.service import ComputeService
from pocketstack.services.identity.service import IdentityService
from pocketstack.services.image.service import ImageService
from pocketstack.services.network.service import NetworkService

log = logging.getLogger("pocketstack")

# every service but identity (always there) can be switched off in settings.services
SERVICE_CLASSES = {"image": ImageService, "compute": ComputeService, "network": NetworkService}


class Cloud:
    """What every request can reach: settings, the database, policy, the services."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.effective_database_url)
        self.public_url = settings.effective_public_url
        self.enforcer = Enforcer()
        self.identity = IdentityService(settings, self.db)
        self.services: list[Any] = [self.identity]
        for name, service_class in SERVICE_CLASSES.items():
            if name in settings.services:
                service = service_class(settings, self.db)
                setattr(self, name, service)
                self.services.append(service)
        for service in self.services:
            self.enforcer.register_defaults(service.policy_rules)
        if settings.policy_file is not None:
            self.enforcer.load_file(settings.policy_file)


class PrefixDispatcher:
    """Routes /<prefix>/... to a service's router with root_path set, and forgives a
    trailing slash the way OpenStack's WSGI stacks do."""

    def __init__(self, mounts: dict[str, ASGIApp], fallback: ASGIApp, strict: set[str] | None = None) -> None:
        self.mounts = sorted(mounts.items(), key=lambda kv: -len(kv[0]))
        self.fallback = fallback
        # prefixes whose service answers "/v2/images/" as a different URL (an empty id: 404)
        self.strict = strict or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):  # websockets: the console proxy
            path: str = scope["path"]
            for prefix, app in self.mounts:
                if path == prefix or path.startswith(prefix + "/"):
                    rest = path[len(prefix) :]
                    if rest in ("", "/"):
                        rest = "/"
                    elif prefix not in self.strict:
                        rest = rest.rstrip("/")
                    scope = {**scope, "root_path": prefix, "path": prefix + rest}
                    await app(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


class CloudApp:
    """The ASGI application: middleware around the prefix dispatcher, plus lifespan."""

    def __init__(self, cloud: Cloud, inner: ASGIApp) -> None:
        self.state = State()
        self.state.cloud = cloud
        self.cloud = cloud
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # Request.app
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.inner(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for service in self.cloud.services:
                    if hasattr(service, "recover"):
                        service.recover()
                # background work (agents) starts once every service has recovered
                for service in self.cloud.services:
                    if hasattr(service, "start"):
                        service.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for service in reversed(self.cloud.services):
                    if hasattr(service, "stop"):
                        service.stop()
                self.cloud.db.dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(settings: Settings, cloud: Cloud | None = None) -> CloudApp:
    cloud = cloud or Cloud(settings)
    mounts: dict[str, ASGIApp] = {}
    for service in cloud.services:
        router = service.router()
        # a service that speaks microversions (compute, volume) declares them; others are left as they are
        router.microversions = getattr(service, "microversions", None)
        router.request_id_header = getattr(service, "request_id_header", None)
        # slashes are the dispatcher's business: never answer with a redirect
        routes = router.starlette_routes()
        # what an ApiRouter cannot express (websockets, static files), from services that have it
        if hasattr(service, "extra_routes"):
            routes += service.extra_routes()
        mounts[service.prefix] = Router(routes=routes, default=not_found_app(router.render_fault), redirect_slashes=False)

    async def root(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return
        if scope["type"] == "http" and scope["path"] in ("", "/"):
            body = {"name": "pocketstack", "services": {s.type: cloud.public_url + s.prefix for s in cloud.services}}
            await JSONResponse(body)(scope, receive, send)
        else:
            await not_found_app(keystone_fault)(scope, receive, send)

    strict = {s.prefix for s in cloud.services if not getattr(s, "forgive_trailing_slash", True)}
    dispatcher = PrefixDispatcher(mounts, root, strict)
    www_authenticate = f'Keystone uri="{cloud.public_url}/identity"'
    return CloudApp(cloud, RequestMiddleware(dispatcher, cloud.identity.tokens, www_authenticate))
