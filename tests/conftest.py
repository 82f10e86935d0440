"""Shared fixtures: a live all-in-one cloud (SQLite and PostgreSQL), admin clients."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pocketstack.core.db import Database
from pocketstack.testing.server import LiveCloud

PG_ADMIN_DSN = os.environ.get("POCKETSTACK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _postgres_database() -> tuple[str, str] | None:
    """Create a throw-away database on the local server; None if none answers."""
    try:
        import psycopg

        name = f"pocketstack_test_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return name, f"{base}/{name}"
    except Exception:
        return None


def _drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def migrated_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of its own: SQLite under tmp_path, or a throw-away PostgreSQL one
    (the test is skipped when no PostgreSQL server answers)."""
    from pocketstack.migrations import upgrade

    name = None
    if kind == "postgresql":
        made = _postgres_database()
        if made is None:
            pytest.skip("no PostgreSQL server answers")
        name, url = made
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        if name:
            _drop_postgres_database(name)


# the test cloud: two image stores (so copy-image has somewhere to copy to) and
# web-download allowed from loopback only, where the tests serve their own files
TEST_CLOUD_ENV = {
    "POCKETSTACK_IMAGE__STORES": json.dumps({"local": "first store", "backup": "second store"}),
    "POCKETSTACK_IMAGE__WEB_DOWNLOAD_ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
    "POCKETSTACK_IMAGE__STORE_WEIGHTS": json.dumps({"backup": 100, "local": 50}),
    # the http store, and locations shown and managed (Glance's show_multiple_locations)
    "POCKETSTACK_IMAGE__HTTP_STORE": "true",
    "POCKETSTACK_IMAGE__SHOW_MULTIPLE_LOCATIONS": "true",
}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    data_dir = tmp_path_factory.mktemp(f"cloud-{request.param}")
    db_name = None
    url = None
    if request.param == "postgresql":
        made = _postgres_database()
        if made is None:
            pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_DSN}")
        db_name, url = made
    live = LiveCloud(data_dir, database_url=url, extra_env=TEST_CLOUD_ENV)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        if db_name:
            _drop_postgres_database(db_name)


class ServiceClient:
    """A thin httpx client on one service's URL (e.g. /image) holding a token."""

    def __init__(self, cloud: LiveCloud, token: str, path: str) -> None:
        self.cloud = cloud
        self.token = token
        self.base = cloud.url + path
        self.http = httpx.Client(timeout=60)

    def service(self, path: str) -> ServiceClient:
        """The same caller on another service."""
        return ServiceClient(self.cloud, self.token, path)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return self.http.request(method, self.base + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)


class Identity(ServiceClient):
    """A thin httpx client on /identity/v3 holding a token."""

    def __init__(self, cloud: LiveCloud, token: str) -> None:
        super().__init__(cloud, token, "/identity/v3")


def password_token(cloud: LiveCloud, user: dict[str, Any], scope: dict[str, Any] | None = None) -> httpx.Response:
    """POST /v3/auth/tokens with a password; user = {"id"|"name"+"domain", "password"}."""
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return httpx.post(cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)


@pytest.fixture(scope="session")
def admin(cloud: LiveCloud) -> Identity:
    return admin_identity(cloud)


def admin_identity(cloud: LiveCloud) -> Identity:
    """The bootstrap admin of `cloud`, scoped to the admin project."""
    env = cloud.env("admin")
    reply = password_token(
        cloud,
        {"name": env["OS_USERNAME"], "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]},
        {"project": {"name": "admin", "domain": {"name": "Default"}}},
    )
    assert reply.status_code == 201, reply.text
    return Identity(cloud, reply.headers["X-Subject-Token"])


@pytest.fixture(scope="session")
def role_ids(admin: Identity) -> dict[str, str]:
    return {r["name"]: r["id"] for r in admin.get("/roles").json()["roles"]}


def make_project(admin: Identity, **fields: Any) -> dict[str, Any]:
    reply = admin.post("/projects", json={"project": {"name": unique("p"), "domain_id": "default", **fields}})
    assert reply.status_code == 201, reply.text
    return reply.json()["project"]


def make_user(admin: Identity, project_id: str | None = None, role: str | None = None, **fields: Any) -> tuple[dict[str, Any], str]:
    """A new user (and its password); with project and role, granted that role there."""
    password = uuid.uuid4().hex
    body = {"name": unique("u"), "domain_id": "default", "password": password, **fields}
    reply = admin.post("/users", json={"user": body})
    assert reply.status_code == 201, reply.text
    user = reply.json()["user"]
    if project_id and role:
        roles = {r["name"]: r["id"] for r in admin.get("/roles").json()["roles"]}
        granted = admin.put(f"/projects/{project_id}/users/{user['id']}/roles/{roles[role]}")
        assert granted.status_code == 204, granted.text
    return user, password


def project_member(cloud: LiveCloud, admin: Identity, role: str = "member") -> tuple[dict[str, Any], dict[str, Any], Identity]:
    """A new project with one new user holding `role` there, logged in: (project, user, identity)."""
    project = make_project(admin)
    user, password = make_user(admin, project["id"], role)
    return project, user, login(cloud, user, password, project["id"])


def login(cloud: LiveCloud, user: dict[str, Any], password: str, project_id: str | None = None) -> Identity:
    scope = {"project": {"id": project_id}} if project_id else None
    reply = password_token(cloud, {"id": user["id"], "password": password}, scope)
    assert reply.status_code == 201, reply.text
    return Identity(cloud, reply.headers["X-Subject-Token"])


def cli_runner(cloud: LiveCloud) -> Any:
    """Run the stock `openstack` CLI as admin (keystonerc_admin) of `cloud`; returns CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        full_env.update(env or cloud.env("admin"))
        proc = subprocess.run([str(BIN / "openstack"), *args], capture_output=True, text=True, env=full_env, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    return run


def sdk_connection(cloud: LiveCloud) -> Any:
    """An openstacksdk Connection as the admin of `cloud`."""
    import openstack

    env = cloud.env("admin")
    return openstack.connect(
        auth_url=env["OS_AUTH_URL"],
        username=env["OS_USERNAME"],
        password=env["OS_PASSWORD"],
        project_name=env["OS_PROJECT_NAME"],
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=env["OS_REGION_NAME"],
    )


@pytest.fixture(scope="session")
def osc(cloud: LiveCloud) -> Any:
    return cli_runner(cloud)


@pytest.fixture(scope="session")
def sdk(cloud: LiveCloud) -> Any:
    return sdk_connection(cloud)


# A test may call record_property("summary", line) to have that line printed at the end
# of the run (e.g. Tempest's "N passed, N failed, N skipped"); reports carry it back from
# pytest-xdist workers, where printing directly would be lost.
_SUMMARIES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _SUMMARIES.extend(str(value) for name, value in report.user_properties if name == "summary")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _SUMMARIES:
        terminalreporter.write_line(line)
