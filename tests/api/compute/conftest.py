"""A cloud with the compute service switched on (it is off by default until servers
boot), and clients for it: the admin and fresh projects with a member user each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import Identity, ServiceClient, admin_identity, cli_runner, project_member, sdk_connection

NOVA_LATEST = {"OpenStack-API-Version": "compute latest"}


@pytest.fixture(scope="session")
def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    env = {"POCKETSTACK_SERVICES": json.dumps(["identity", "image", "compute"])}
    with LiveCloud(tmp_path_factory.mktemp("compute-cloud"), extra_env=env) as live:
        yield live


@pytest.fixture(scope="session")
def compute_admin(compute_cloud: LiveCloud) -> Identity:
    return admin_identity(compute_cloud)


@pytest.fixture(scope="session")
def nova(compute_admin: Identity) -> ServiceClient:
    """The admin on /compute/v2.1."""
    return compute_admin.service("/compute/v2.1")


@dataclass
class Member:
    project: dict[str, Any]
    user: dict[str, Any]
    identity: Identity
    nova: ServiceClient


@pytest.fixture(scope="session")
def member(compute_cloud: LiveCloud, compute_admin: Identity) -> Callable[..., Member]:
    """A factory: a new project with one user of the given role, and its compute client."""

    def make(role: str = "member") -> Member:
        project, user, identity = project_member(compute_cloud, compute_admin, role)
        return Member(project, user, identity, identity.service("/compute/v2.1"))

    return make


@pytest.fixture(scope="session")
def compute_osc(compute_cloud: LiveCloud) -> Any:
    """The stock `openstack` CLI as this cloud's admin."""
    return cli_runner(compute_cloud)


@pytest.fixture(scope="session")
def compute_sdk(compute_cloud: LiveCloud) -> Any:
    """An openstacksdk Connection as this cloud's admin."""
    return sdk_connection(compute_cloud)
