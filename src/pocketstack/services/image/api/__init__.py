"""The image API: every module of this package contributes an `api` route table, and
the metadefs catalog adds its own."""

from __future__ import annotations

from pocketstack.core.api import ApiRouter, router_from_package
from pocketstack.core.faults import glance_fault

from ..metadefs.api import api as metadefs_api


def build_router() -> ApiRouter:
    router = router_from_package(__name__, __path__, glance_fault)
    router.include(metadefs_api)
    return router
