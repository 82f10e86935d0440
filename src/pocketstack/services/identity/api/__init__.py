"""The identity API: every module of this package contributes an `api` route table."""

from __future__ import annotations

import importlib
import pkgutil

from pocketstack.core.api import ApiRouter
from pocketstack.core.faults import keystone_fault


def build_router() -> ApiRouter:
    router = ApiRouter(keystone_fault)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "api", None), ApiRouter):
            router.include(module.api)
    return router
