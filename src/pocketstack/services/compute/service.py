"""The compute service (Nova v2.1 with microversions) as the app sees it: routes, the
microversion range, the catalog entry and what a fresh cloud gets (default flavors).

Not in settings.services by default yet: until servers boot (issue #4), announcing a
compute endpoint would make clients (and Tempest) expect what is not there."""

from __future__ import annotations

from pocketstack.config import Settings
from pocketstack.core.api import ApiRouter
from pocketstack.core.db import Database
from pocketstack.core.microversions import Microversions, VersionRange

from . import policy
from .api import build_router
from .backend.flavors import ensure_default_flavors

# the newest Nova microversion these routes answer for (each resource honours the
# differences up to it); the oldest is 2.1
MAX_MICROVERSION = "2.96"


class ComputeService:
    name = "compute"
    type = "compute"
    prefix = "/compute"
    catalog_path = "/v2.1"  # the endpoint clients get: Nova's is versioned
    catalog_name = "nova"
    catalog_description = "Compute Service"
    policy_rules = policy.RULES
    microversions = Microversions("compute", VersionRange("2.1", MAX_MICROVERSION), legacy_header="X-OpenStack-Nova-API-Version")

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def router(self) -> ApiRouter:
        return build_router()

    def bootstrap(self, made: dict[str, str]) -> None:
        """A fresh cloud gets Nova's classic flavors (and m1.nano for the test guest)."""
        with self.db.write() as db:
            ensure_default_flavors(db)
