"""The life of an all-in-one cloud: bootstrap is idempotent, restarts keep state, SIGTERM
stops it cleanly, the `status`, `db upgrade`, `bootstrap` and `keys rotate` commands, and
the credential files it writes work with the stock `openstack` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pocketstack.testing.server import LiveCloud
from tests.conftest import _drop_postgres_database, _postgres_database, admin_identity, unique

COLLECTIONS = ("users", "projects", "domains", "roles", "services", "endpoints", "regions")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in the data dir) or a throw-away PostgreSQL database: one per test,
    because the admin password lives in the data dir, which is one per test too."""
    if request.param == "sqlite":
        yield None
        return
    made = _postgres_database()
    if made is None:
        pytest.skip("no PostgreSQL server answers")
    name, url = made
    yield url
    _drop_postgres_database(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def admin_token(cloud: LiveCloud) -> str:
    return admin_identity(cloud).token


def state(cloud: LiveCloud) -> dict[str, Any]:
    """Every id the bootstrap makes, plus the credential files, to compare across runs."""
    token = admin_token(cloud)
    out: dict[str, Any] = {}
    for collection in COLLECTIONS:
        reply = httpx.get(f"{cloud.url}/identity/v3/{collection}", headers={"X-Auth-Token": token}, timeout=30)
        out[collection] = sorted((item["id"], item.get("name") or item.get("url") or "") for item in reply.json().get(collection, []))
    for name in ("keystonerc_admin", "keystonerc_demo", "clouds.yaml", "bootstrap-secrets.json"):
        out[name] = (cloud.data_dir / name).read_text()
    return out


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "pocketstack", *args], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, f"pocketstack {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def location(cloud: LiveCloud) -> list[str]:
    """The flags that point a command at this cloud."""
    flags = ["--data-dir", str(cloud.data_dir), "--port", str(cloud.port)]
    return flags + (["--database-url", cloud.database_url] if cloud.database_url else [])


def stop_cleanly(cloud: LiveCloud) -> None:
    cloud.stop()  # SIGTERM first
    assert cloud.proc is not None and cloud.proc.returncode == 0, cloud.log_path.read_text()[-2000:]


def test_bootstrap_twice_restart_and_sigterm(data_dir: Path, database_url: str | None) -> None:
    cloud = LiveCloud(data_dir, database_url=database_url).start()
    try:
        first = state(cloud)
        assert {name for _, name in first["users"]} >= {"admin", "demo"}
        assert {name for _, name in first["projects"]} >= {"admin", "demo", "service"}
        token = admin_token(cloud)
        made = httpx.post(
            f"{cloud.url}/identity/v3/projects",
            json={"project": {"name": unique("kept"), "domain_id": "default"}},
            headers={"X-Auth-Token": token},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        first = state(cloud)
    finally:
        stop_cleanly(cloud)

    # the same command again: bootstrap runs, finds everything, changes nothing
    cloud = LiveCloud(data_dir, database_url=database_url, port=cloud.port).start()
    try:
        assert state(cloud) == first
        # a token issued before the restart is still good (same keys, same database)
        shown = httpx.get(f"{cloud.url}/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=30)
        assert shown.status_code == 200
    finally:
        stop_cleanly(cloud)


def test_status_db_upgrade_and_bootstrap_commands(data_dir: Path, database_url: str | None) -> None:
    cloud = LiveCloud(data_dir, database_url=database_url)
    down = cli("status", *location(cloud), check=False)
    assert down.returncode == 1 and "not answering" in down.stdout
    cli("db", "upgrade", *location(cloud))  # on a brand-new database
    cloud.start()
    try:
        before = state(cloud)
        up = cli("status", *location(cloud))
        assert "is up" in up.stdout and "identity" in up.stdout and str(data_dir) in up.stdout
        assert "newest schema" in cli("db", "upgrade", *location(cloud)).stdout  # again, while it runs
        cli("bootstrap", *location(cloud))  # idempotent while the server runs
        assert state(cloud) == before
    finally:
        stop_cleanly(cloud)


def wait_for_status(cloud: LiveCloud, token: str, wanted: int, seconds: float = 15.0) -> int:
    """A running server picks up rotated keys within seconds; poll until it does."""
    deadline = time.monotonic() + seconds
    while True:
        checker = admin_token(cloud)  # fresh each time: its own key may have rotated away
        status = httpx.get(
            f"{cloud.url}/identity/v3/auth/tokens", headers={"X-Auth-Token": checker, "X-Subject-Token": token}, timeout=30
        ).status_code
        if status == wanted or time.monotonic() >= deadline:
            return status
        time.sleep(0.5)


def test_keys_rotate_keeps_old_tokens_until_their_key_is_dropped(data_dir: Path, database_url: str | None) -> None:
    cloud = LiveCloud(data_dir, database_url=database_url).start()
    try:
        old = admin_token(cloud)
    finally:
        stop_cleanly(cloud)
    out = cli("keys", "rotate", "--data-dir", str(data_dir), "--max-active-keys", "3")
    assert "primary" in out.stdout
    cloud = LiveCloud(data_dir, database_url=database_url, port=cloud.port).start()
    try:
        assert wait_for_status(cloud, old, 200) == 200  # signed by a key still kept
        newer = admin_token(cloud)  # signed by the promoted key
        # a second rotation while the server runs: it signs with the next key within
        # seconds, and the key that signed `old` is dropped
        cli("keys", "rotate", "--data-dir", str(data_dir), "--max-active-keys", "3")
        time.sleep(6)  # TokenFormatter.RELOAD_CHECK_SECONDS
        newest = admin_token(cloud)
    finally:
        stop_cleanly(cloud)
    # validated tokens stay cached for a while (as Keystone's token cache does), so look
    # at the keys from a fresh start
    cloud = LiveCloud(data_dir, database_url=database_url, port=cloud.port).start()
    try:
        assert wait_for_status(cloud, old, 404, seconds=0) == 404
        assert wait_for_status(cloud, newer, 200, seconds=0) == 200
        assert wait_for_status(cloud, newest, 200, seconds=0) == 200
    finally:
        stop_cleanly(cloud)
    # key 1, the primary of the first start, is gone; 2 and 3 were promoted, 0 is staged
    keys = sorted(int(p.name) for p in (data_dir / "fernet-keys").iterdir() if p.name.isdigit())
    assert keys == [0, 2, 3]


def test_keystonerc_admin_works_with_the_cli(osc: Any) -> None:
    token = json.loads(osc("token", "issue", "-f", "json").stdout)
    assert token["id"] and token["project_id"] and token["user_id"]


def test_keystonerc_demo_works_with_the_cli(cloud: LiveCloud, osc: Any) -> None:
    token = json.loads(osc("token", "issue", "-f", "json", env=cloud.env("demo")).stdout)
    assert token["id"]
    projects = json.loads(osc("project", "list", "--my-projects", "-f", "json", env=cloud.env("demo")).stdout)
    assert [p["Name"] for p in projects] == ["demo"]


@pytest.mark.parametrize("name", ["pocketstack-admin", "pocketstack-demo"])
def test_clouds_yaml_works_with_the_cli(cloud: LiveCloud, osc: Any, name: str) -> None:
    env = {"OS_CLIENT_CONFIG_FILE": str(cloud.data_dir / "clouds.yaml")}
    token = json.loads(osc("--os-cloud", name, "token", "issue", "-f", "json", env=env).stdout)
    assert token["id"] and token["project_id"]
