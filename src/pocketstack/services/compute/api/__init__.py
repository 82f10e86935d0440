"""The compute API: every module of this package contributes an `api` route table."""

from __future__ import annotations

from pocketstack.core.api import ApiRouter, router_from_package
from pocketstack.core.faults import nova_fault


def build_router() -> ApiRouter:
    return router_from_package(__name__, __path__, nova_fault)
