"""The identity API: every module of this package contributes an `api` route table."""

from __future__ import annotations

from pocketstack.core.api import ApiRouter, router_from_package
from pocketstack.core.faults import keystone_fault


def build_router() -> ApiRouter:
    return router_from_package(__name__, __path__, keystone_fault)
