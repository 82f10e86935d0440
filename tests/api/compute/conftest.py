"""Clouds for the compute API tests: one with compute alone (session-wide), one per module
with compute and networking, and clients for them: the admin and fresh projects with a
member user each."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import ApiSpec, load_spec
from tests.api.compute.fakes import FakeHost, Records
from tests.conftest import Identity, ServiceClient, admin_identity, cli_runner, project_member, sdk_connection

NOVA_LATEST = {"OpenStack-API-Version": "compute latest"}


@pytest.fixture(scope="session")
def compute_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    env = {
        "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "compute"]),
        # API tests run on the fake hypervisor: tests/e2e boots real guests
        "POCKETSTACK_COMPUTE__DRIVER": "fake",
        "POCKETSTACK_COMPUTE__AGENT_INTERVAL": "0.5",
    }
    with LiveCloud(tmp_path_factory.mktemp("compute-cloud"), extra_env=env) as live:
        yield live


@pytest.fixture(scope="module")
def net_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    """Compute with networking (fake hypervisor; the noop dataplane's agent marks plugged
    ports ACTIVE), one per test module."""
    env = {
        "POCKETSTACK_SERVICES": json.dumps(["identity", "image", "compute", "network"]),
        "POCKETSTACK_COMPUTE__DRIVER": "fake",
        "POCKETSTACK_COMPUTE__AGENT_INTERVAL": "0.5",
        "POCKETSTACK_NETWORK__DATAPLANE": "noop",
        "POCKETSTACK_NETWORK__RUN_AGENT": "true",
        "POCKETSTACK_NETWORK__AGENT_INTERVAL": "0.5",
    }
    with LiveCloud(tmp_path_factory.mktemp("compute-net"), extra_env=env) as live:
        yield live


@pytest.fixture(scope="module")
def net_image(net_cloud: LiveCloud) -> str:
    """A public 4 KiB raw image in net_cloud (the fake hypervisor never reads it)."""
    glance = admin_identity(net_cloud).service("/image")
    made = glance.post("/v2/images", json={"name": "img", "disk_format": "raw", "container_format": "bare", "visibility": "public"}).json()
    glance.put(f"/v2/images/{made['id']}/file", content=b"\0" * 4096, headers={"Content-Type": "application/octet-stream"})
    return str(made["id"])


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


@pytest.fixture(scope="module")
def spec() -> ApiSpec | None:
    """The compute OpenAPI description (None when ../shared/api-specs is absent)."""
    return load_spec("compute")


@pytest.fixture(scope="module")
def records(compute_cloud: LiveCloud) -> Iterator[Records]:
    """Rows written straight into the cloud's database (fake hosts, past servers)."""
    made = Records(compute_cloud)
    yield made
    made.close()


@pytest.fixture()
def host(records: Records) -> Iterator[FakeHost]:
    made = records.add_host()
    yield made
    records.remove_host(made.name)


@pytest.fixture(scope="session")
def image_id(compute_cloud: LiveCloud, nova: ServiceClient) -> str:
    """A public 1 MiB raw image (the fake hypervisor never reads it)."""
    glance = nova.service("/image")
    reply = glance.post(
        "/v2/images",
        json={"name": f"boot-{uuid.uuid4().hex[:6]}", "disk_format": "raw", "container_format": "bare", "visibility": "public"},
    )
    assert reply.status_code == 201, reply.text
    image = reply.json()
    uploaded = glance.put(f"/v2/images/{image['id']}/file", content=b"\0" * (1 << 20), headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image["id"]
