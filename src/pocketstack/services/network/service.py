"""The networking service (Neutron v2.0) as the app sees it: routes, policy defaults and
the catalog entry.

The catalog endpoint is the prefix without a version, as DevStack publishes Neutron's
(http://host/networking): openstacksdk and the CLI add /v2.0 themselves.

Not in settings.services by default yet: until the network agent builds a dataplane,
announcing a network endpoint would make clients expect networks that carry traffic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pocketstack.config import Settings
from pocketstack.core.api import ApiRouter
from pocketstack.core.db import Database

from . import policy
from .api import build_router


class NetworkService:
    name = "network"
    type = "network"
    prefix = "/networking"
    catalog_name = "neutron"
    catalog_description = "Networking Service"
    policy_rules = policy.RULES

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.agent: Any = None
        self._stop_waking: Callable[[], None] | None = None

    def router(self) -> ApiRouter:
        return build_router()

    # -- the network agent beside the API (pocketstack allinone / serve) -----------------
    def start(self) -> None:
        """Runs the agent when settings.network.run_agent says so (default: when the
        dataplane is the real linux one). Any committed change to a networking row wakes it."""
        from pocketstack.agents.network import NetworkAgent, wake_on_commits
        from pocketstack.drivers.network import dataplane_kind, load_driver

        run_agent = self.settings.network.run_agent
        if run_agent is None:
            run_agent = dataplane_kind(self.settings) == "linux"
        if not run_agent:
            return
        self.agent = NetworkAgent(self.settings, self.db, load_driver(self.settings))
        self._stop_waking = wake_on_commits(self.wake_agent)
        self.agent.start()

    def stop(self) -> None:
        """Stops the agent; the dataplane stays (guests keep their network), as Neutron's
        agents leave it."""
        if self._stop_waking is not None:
            self._stop_waking()
            self._stop_waking = None
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def wake_agent(self) -> None:
        if self.agent is not None:
            self.agent.wake()
