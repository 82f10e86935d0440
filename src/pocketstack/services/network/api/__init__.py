"""The networking API (Neutron v2.0): every module of this package contributes an `api`
route table, rendered in Neutron's error format."""

from __future__ import annotations

from pocketstack.core.api import ApiRouter, router_from_package
from pocketstack.core.faults import neutron_fault


def build_router() -> ApiRouter:
    return router_from_package(__name__, __path__, neutron_fault)
