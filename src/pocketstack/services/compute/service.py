"""The compute service (Nova v2.1 with microversions) as the app sees it: routes, the
microversion range, the catalog entry, what a fresh cloud gets (default flavors), the
hypervisor driver of this host and, in an all-in-one, the compute agent beside the API."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from pocketstack.config import Settings
from pocketstack.core.api import ApiRouter
from pocketstack.core.db import Database
from pocketstack.core.microversions import Microversions, VersionRange

from . import policy
from .api import build_router
from .backend.flavors import ensure_default_flavors
from .backend.hosts import COMPUTE_BINARY, is_up, register_service
from .consoles import Consoles
from .models import ComputeServiceRecord, Server

log = logging.getLogger("pocketstack.compute")

# the newest Nova microversion these routes answer for (each resource honours the
# differences up to it); the oldest is 2.1
MAX_MICROVERSION = "2.96"
CONTROLLER_SERVICES = (("nova-scheduler", "scheduler"), ("nova-conductor", "conductor"))
CONTROLLER_HEARTBEAT_S = 10.0


class ComputeService:
    name = "compute"
    type = "compute"
    prefix = "/compute"
    catalog_path = "/v2.1"  # the endpoint clients get: Nova's is versioned
    catalog_name = "nova"
    catalog_description = "Compute Service"
    policy_rules = policy.RULES
    # Nova reads /images/ as an image with a blank id (404), not as the list
    forgive_trailing_slash = False
    request_id_header = "x-compute-request-id"
    microversions = Microversions("compute", VersionRange("2.1", MAX_MICROVERSION), legacy_header="X-OpenStack-Nova-API-Version")

    def __init__(self, settings: Settings, db: Database) -> None:
        from pocketstack.drivers.compute import load_driver

        self.settings = settings
        self.db = db
        # this host's hypervisor: the agent drives it; the API reads console logs from it
        self.driver = load_driver(settings)
        # browser consoles of this host's guests: tokens the API hands out (kept in the
        # database), the proxy honours
        self.consoles = Consoles(self.driver, db)
        self.agent: Any = None
        self.controller: Any = None

    def router(self) -> ApiRouter:
        return build_router()

    def extra_routes(self) -> list[BaseRoute]:
        """What the ApiRouter cannot serve: the console websocket proxy and noVNC's pages."""
        return self.consoles.routes()

    def bootstrap(self, made: dict[str, str]) -> None:
        """A fresh cloud gets Nova's classic flavors (and m1.nano for the test guest)."""
        with self.db.write() as db:
            ensure_default_flavors(db)

    # -- the agent beside the API (pocketstack allinone / serve) ------------------------
    def start(self) -> None:
        from pocketstack.agents.compute import default_host_name
        from pocketstack.agents.reconcile import ReconcileLoop

        # the API process is this cloud's scheduler and conductor: os-services shows them
        # (as Nova lists nova-scheduler and nova-conductor), up while it heartbeats
        self.controller_host = default_host_name(self.settings)
        self.controller = ReconcileLoop("compute-controller", self._controller_heartbeat, CONTROLLER_HEARTBEAT_S)
        self.controller.start()
        if not self.settings.compute.run_agent:
            return
        from pocketstack.agents.compute import ComputeAgent

        self.agent = ComputeAgent(self.settings, self.db, self.driver)
        self.agent.start()

    def _controller_heartbeat(self) -> None:
        with self.db.write() as db:
            for binary, topic in CONTROLLER_SERVICES:
                register_service(db, self.controller_host, binary, topic)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def wake_agent(self) -> None:
        """Called after a commit that gave the agent work (an agent elsewhere polls)."""
        if self.agent is not None:
            self.agent.wake()

    # -- what the API asks of this host ---------------------------------------------------
    def console_output(self, server: Server, length: int | None) -> str:
        if server.host is None:
            from pocketstack.core.faults import Conflict

            raise Conflict(f"Instance {server.uuid} has no console: it is not on any host.")
        return self.driver.console_output(server.uuid, length)

    def network_data(self, server: Server) -> dict[str, Any]:
        """network_data.json of a server: its links, networks and DNS services."""
        from . import networking

        with self.db.read() as db:
            data = networking.network_data(db, server.uuid)
        return data if data["links"] else {}

    def diagnostics(self, server: Server) -> Any:
        """The driver's GuestDiagnostics of a server on this host, or None when the driver
        cannot tell (no such guest here, or a driver without diagnostics)."""
        from pocketstack.drivers.compute.base import DriverError

        measure = getattr(self.driver, "diagnostics", None)
        if measure is None:
            return None
        try:
            return measure(server.uuid)
        except DriverError as error:
            log.info("server %s: no diagnostics from the driver (%s)", server.uuid, error)
            return None

    def host_states(self, db: Session) -> dict[str, str]:
        """host -> Nova's host_status: UP, DOWN or MAINTENANCE (service disabled)."""
        down_time = self.settings.compute.service_down_time
        out = {}
        for service in db.scalars(select(ComputeServiceRecord).where(ComputeServiceRecord.binary == COMPUTE_BINARY)):
            out[service.host] = "MAINTENANCE" if service.disabled else "UP" if is_up(service, down_time) else "DOWN"
        return out
