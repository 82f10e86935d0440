"""`pocketstack` command line: allinone, serve, db upgrade, bootstrap, status, keys rotate, guest-image, compute-agent, network-agent."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pocketstack.config import Settings, load_settings

log = logging.getLogger("pocketstack")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("--data-dir", type=Path, help="where state lives (default /var/lib/pocketstack)")
    parser.add_argument("--database-url", help="sqlite:///..., postgresql+psycopg://..., mysql+pymysql://...")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default 5000)")
    parser.add_argument("--public-url", help="URL the catalog advertises (default http://HOST:PORT)")
    parser.add_argument("--log-level", help="debug, info, warning")


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(
            args.config,
            data_dir=args.data_dir,
            database_url=args.database_url,
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            log_level=args.log_level,
        )
    except ValidationError as exc:
        # a wrong setting is the operator's to fix: say which, without a traceback
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise SystemExit(f"pocketstack: invalid settings: {problems}") from None


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    from pocketstack.migrations import upgrade

    upgrade(settings.effective_database_url)


def _passwords(settings: Settings) -> dict[str, str]:
    """Bootstrap passwords, generated once and kept (0600) so restarts reuse them."""
    path = settings.data_dir / "bootstrap-secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "admin": settings.admin_password or stored.get("admin") or secrets.token_urlsafe(12),
        "demo": stored.get("demo") or secrets.token_urlsafe(12),
    }
    if wanted != stored:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(wanted, f)
    return wanted


def run_bootstrap(settings: Settings) -> dict[str, str]:
    from pocketstack.app import Cloud
    from pocketstack.services.identity.service import bootstrap

    passwords = _passwords(settings)
    cloud = Cloud(settings)
    try:
        with cloud.db.write() as db:
            made = bootstrap(db, settings, cloud.services, passwords)
        # then each other service adds what a fresh cloud should have (e.g. seed images)
        for service in cloud.services:
            if hasattr(service, "bootstrap"):
                service.bootstrap(made)
    finally:
        cloud.db.dispose()
    write_client_files(settings, passwords)
    return passwords


def write_client_files(settings: Settings, passwords: dict[str, str]) -> None:
    """keystonerc_admin / keystonerc_demo (as packstack writes them) and clouds.yaml."""
    auth_url = f"{settings.effective_public_url}/identity/v3"
    for user, project in (("admin", "admin"), ("demo", "demo")):
        rc = (
            "unset OS_SERVICE_TOKEN OS_TOKEN OS_CLOUD\n"
            f"export OS_USERNAME={user}\n"
            f"export OS_PASSWORD='{passwords[user]}'\n"
            f"export OS_REGION_NAME={settings.region}\n"
            f"export OS_AUTH_URL={auth_url}\n"
            f"export OS_PROJECT_NAME={project}\n"
            "export OS_USER_DOMAIN_NAME=Default\n"
            "export OS_PROJECT_DOMAIN_NAME=Default\n"
            "export OS_IDENTITY_API_VERSION=3\n"
            "export OS_INTERFACE=public\n"
            f"export PS1='[\\u@\\h \\W(keystone_{user})]\\$ '\n"
        )
        _write_private(settings.data_dir / f"keystonerc_{user}", rc)
    clouds: dict[str, Any] = {"clouds": {}}
    for user in ("admin", "demo"):
        clouds["clouds"][f"pocketstack-{user}"] = {
            "auth": {
                "auth_url": auth_url,
                "username": user,
                "password": passwords[user],
                "project_name": user,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": settings.region,
            "interface": "public",
            "identity_api_version": 3,
        }
    import yaml

    _write_private(settings.data_dir / "clouds.yaml", yaml.safe_dump(clouds, sort_keys=False))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def serve(settings: Settings) -> None:
    import uvicorn

    from pocketstack.app import build_app

    app = build_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # our middleware logs one line per request, with ids
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
    # handler that was in place before it started. A quiet handler there makes a clean
    # stop exit 0 (what systemd and our tests expect) instead of dying by the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(config).run()


def with_test_image(settings: Settings) -> Settings:
    """The all-in-one publishes the test guest (built once, cached) when compute runs."""
    if "compute" not in settings.services or not settings.compute.test_image:
        return settings
    from pocketstack.config import default_guest_image_cache
    from pocketstack.guest import GuestImageError, build_test_image

    try:
        path = build_test_image(settings.compute.guest_image_cache or default_guest_image_cache())
    except (GuestImageError, OSError) as exc:
        logging.getLogger("pocketstack").warning("the test guest image could not be built, so none is published: %s", exc)
        return settings
    seeds = [*settings.image.seed_images, path]
    return settings.model_copy(update={"image": settings.image.model_copy(update={"seed_images": seeds})})


def cmd_allinone(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _setup_logging(settings.log_level)
    started = time.monotonic()
    _prepare(settings)
    settings = with_test_image(settings)
    run_bootstrap(settings)
    d = settings.data_dir
    print(
        f"pocketstack all-in-one is starting ({time.monotonic() - started:.1f}s of set-up)\n"
        f"  identity endpoint: {settings.effective_public_url}/identity/v3\n"
        f"  admin credentials: source {d / 'keystonerc_admin'}\n"
        f"  demo credentials:  source {d / 'keystonerc_demo'}\n"
        f"  clouds.yaml:       {d / 'clouds.yaml'} (clouds pocketstack-admin, pocketstack-demo)\n"
        f"  database:          {settings.effective_database_url.split('@')[-1]}\n"
        "  stop with Ctrl-C",
        flush=True,
    )
    serve(settings)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _setup_logging(settings.log_level)
    _prepare(settings)
    serve(settings)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _setup_logging(settings.log_level)
    if args.db_command == "upgrade":
        _prepare(settings)
        print("database is at the newest schema")
    return 0


def cmd_bootstrap(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _setup_logging(settings.log_level)
    _prepare(settings)
    run_bootstrap(settings)
    print(f"bootstrapped; credentials in {settings.data_dir}/keystonerc_admin")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import httpx

    settings = _settings(args)
    url = settings.effective_public_url
    print(f"data dir:  {settings.data_dir}")
    print(f"database:  {settings.effective_database_url.split('@')[-1]}")
    try:
        reply = httpx.get(url + "/", timeout=5).json()
    except (httpx.HTTPError, ValueError) as exc:
        print(f"endpoint:  {url} is not answering ({exc.__class__.__name__})")
        return 1
    print(f"endpoint:  {url} is up")
    for kind, service_url in reply.get("services", {}).items():
        print(f"  {kind:10s} {service_url}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from pocketstack.services.identity.tokens import KeyRepository

    settings = _settings(args)
    repo = KeyRepository(settings.data_dir / "fernet-keys")
    if args.keys_command == "rotate":
        number = repo.rotate(args.max_active_keys)
        print(f"rotated: key {number} is now primary (a running server picks it up within seconds)")
    return 0


def cmd_guest_image(args: argparse.Namespace) -> int:
    from pocketstack.config import default_guest_image_cache
    from pocketstack.guest import GuestImageError, build_test_image

    cache_dir = args.cache_dir or _settings(args).compute.guest_image_cache or default_guest_image_cache()
    try:
        print(build_test_image(cache_dir))
    except GuestImageError as exc:
        raise SystemExit(f"pocketstack: cannot build the guest image: {exc}") from None
    return 0


def _run_agent(args: argparse.Namespace, make_agent: Any, describe: Any) -> int:
    """Run one agent in the foreground until SIGTERM/SIGINT: make_agent(settings, db)
    builds it, describe(agent) is the line printed once it runs."""
    import threading

    from pocketstack.core.db import Database

    settings = _settings(args)
    _setup_logging(settings.log_level)
    _prepare(settings)
    db = Database(settings.effective_database_url)
    agent = make_agent(settings, db)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    agent.start()
    print(f"{describe(agent)}; stop with Ctrl-C", flush=True)
    stopping.wait()
    agent.stop()
    db.dispose()
    return 0


def cmd_compute_agent(args: argparse.Namespace) -> int:
    """The compute agent alone, for a compute host (or an all-in-one started with
    compute.run_agent = false): it reconciles this host's servers."""
    from pocketstack.agents.compute import ComputeAgent
    from pocketstack.drivers.compute import load_driver

    return _run_agent(
        args,
        lambda settings, db: ComputeAgent(settings, db, load_driver(settings)),
        lambda agent: f"compute agent for host {agent.host} is running",
    )


def cmd_network_agent(args: argparse.Namespace) -> int:
    """The network agent alone (bridges, taps, DHCP, routers, security groups of this
    host) for a compute host or an all-in-one started with network.run_agent = false."""
    from pocketstack.agents.network import NetworkAgent
    from pocketstack.drivers.network import load_driver

    return _run_agent(
        args,
        lambda settings, db: NetworkAgent(settings, db, load_driver(settings)),
        lambda agent: f"network agent for host {agent.host} is running ({agent.driver.name} dataplane)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pocketstack", description="An OpenStack-compatible cloud in one package.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("allinone", cmd_allinone, "set up (first run) and start the all-in-one cloud"),
        ("serve", cmd_serve, "start the API server from settings"),
        ("bootstrap", cmd_bootstrap, "create the default domain, admin, roles and catalog (idempotent)"),
        ("status", cmd_status, "show where the cloud lives and whether it answers"),
        ("compute-agent", cmd_compute_agent, "run this host's compute agent (QEMU guests) in the foreground"),
        ("network-agent", cmd_network_agent, "run this host's network agent (bridges, DHCP, routers) in the foreground"),
    ):
        p = sub.add_parser(name, help=help_text)
        _common(p)
        p.set_defaults(func=func)
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    _common(db_sub.add_parser("upgrade", help="migrate the database to the newest schema"))
    db.set_defaults(func=cmd_db)
    keys = sub.add_parser("keys", help="token signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="promote the staged key, stage a new one")
    _common(rotate)
    rotate.add_argument("--max-active-keys", type=int, default=3)
    keys.set_defaults(func=cmd_keys)
    guest_image = sub.add_parser("guest-image", help="build (once, cached) the test guest image and print its path")
    _common(guest_image)
    guest_image.add_argument(
        "--cache-dir", type=Path, help="where the image and its packages are kept (default ~/.cache/pocketstack/guest-images)"
    )
    guest_image.set_defaults(func=cmd_guest_image)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
