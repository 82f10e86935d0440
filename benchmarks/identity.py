#!/usr/bin/env python3
"""Identity benchmark: pocketstack against the real Keystone, measured in the same run.

    .venv/bin/python benchmarks/identity.py [--duration 20] [--no-anchor] [--write docs/benchmarks.md]

What it measures (loopback only):
- cold start: process start -> first token issued, for a first start (empty data dir:
  migrations + bootstrap) and for a restart of the same data dir;
- token issue and token validate, concurrency 1 and 8, with ../shared/conformance/keystone-bench
  (wrk): rps, p50, p99, server CPU per request; the server's RSS before and after;
- the same keystone-bench against the real Keystone 30 (../shared/conformance/keystone-anchor,
  installed with CACHE=1, in-process cache on), when it is installed.

pocketstack runs with the production bcrypt cost (12 rounds), the same as Keystone's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from common import write_section  # noqa: E402

from pocketstack.testing.server import LiveCloud  # noqa: E402

SHARED = REPO.parent / "shared" / "conformance"
RESULT = re.compile(r"^(issue|validate)\s+c=(\d+)\s+(.*)$")


def first_token_seconds(data_dir: Path, port: int) -> tuple[float, LiveCloud]:
    """Seconds from spawning `pocketstack allinone` to the first issued token."""
    cloud = LiveCloud(data_dir, port=port, hash_rounds=None)
    started = time.monotonic()
    cloud.start(timeout=60)
    env = cloud.env()
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]}},
            },
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
        }
    }
    while True:
        try:
            if httpx.post(cloud.url + "/identity/v3/auth/tokens", json=body, timeout=10).status_code == 201:
                return time.monotonic() - started, cloud
        except httpx.HTTPError:
            pass
        time.sleep(0.01)


def keystone_bench(env: dict[str, str], pids: list[int], duration: int) -> dict[str, object]:
    full_env = {**os.environ, **env, "DURATION": str(duration)}
    proc = subprocess.run(
        [str(SHARED / "keystone-bench"), *map(str, pids)], env=full_env, capture_output=True, text=True, timeout=duration * 8 + 120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"keystone-bench failed: {proc.stderr[-2000:]}")
    out: dict[str, object] = {"raw": proc.stdout}
    for line in proc.stdout.splitlines():
        m = RESULT.match(line.strip())
        if m:
            fields = dict(kv.split("=", 1) for kv in m.group(3).split())
            out[f"{m.group(1)}@{m.group(2)}"] = fields
        elif line.startswith("server RSS"):
            kb = int(line.split(":", 1)[1].split()[0])
            out["rss_before" if "before" in line else "rss_after"] = kb / 1024
    return out


def run_pocketstack(duration: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="pocketstack-bench-"))
    try:
        port = 5399
        first, cloud = first_token_seconds(work / "data", port)
        cloud.stop()
        restart, cloud = first_token_seconds(work / "data", port)
        try:
            env = cloud.env()
            env["OS_AUTH_URL"] = cloud.url + "/identity/v3"
            assert cloud.proc is not None
            result = keystone_bench(env, [cloud.proc.pid], duration)
        finally:
            cloud.stop()
        result["cold_first"] = first
        result["cold_restart"] = restart
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_anchor(duration: int) -> dict[str, object] | None:
    anchor = SHARED / "keystone-anchor"
    subprocess.run([str(anchor), "start"], check=True, capture_output=True, text=True, timeout=120)
    try:
        pid = int(subprocess.run([str(anchor), "pid"], capture_output=True, text=True, check=True).stdout.strip())
        env_line = subprocess.run([str(anchor), "env"], capture_output=True, text=True, check=True).stdout
        env = dict(re.findall(r"(OS_\w+)=(\S+)", env_line))
        return keystone_bench(env, [pid], duration)
    finally:
        subprocess.run([str(anchor), "stop"], capture_output=True, text=True, timeout=120)


def anchor_installed() -> bool:
    venv = Path(os.environ.get("KEYSTONE_ANCHOR_DIR", Path.home() / ".cache/pocketstack-conformance/keystone")) / "venv/bin/uwsgi"
    return venv.exists()


def fmt(result: dict[str, object] | None, key: str, field: str) -> str:
    if not result or key not in result:
        return "—"
    return str(result[key][field])  # type: ignore[index]


def report(ours: dict[str, object], theirs: dict[str, object] | None, duration: int) -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = os.cpu_count()
    lines = [
        "## Identity (issue #2)",
        "",
        f"Measured {when} on this machine ({cpu} cores, shared), `benchmarks/identity.py --duration {duration}`:",
        "keystone-bench (wrk, loopback) against pocketstack and, in the same run, against the real Keystone 30.0.0",
        "(`keystone-anchor`, uWSGI 2 × 1, Fernet, SQLite, in-process cache on). Both hash passwords with bcrypt at 12 rounds.",
        "",
        "| op | concurrency | pocketstack rps | p50 ms | p99 ms | CPU ms/req | Keystone rps | p50 ms | p99 ms | CPU ms/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for op in ("issue", "validate"):
        for c in ("1", "8"):
            key = f"{op}@{c}"
            row = [op, c]
            for result in (ours, theirs):
                row += [
                    fmt(result, key, "rps"),
                    fmt(result, key, "p50_ms"),
                    fmt(result, key, "p99_ms"),
                    fmt(result, key, "server_cpu_ms_per_req"),
                ]
            lines.append("| " + " | ".join(row) + " |")
    rss = lambda r, k: f"{r[k]:.0f} MB" if r and k in r else "—"  # noqa: E731
    lines += [
        "",
        "| figure | pocketstack | Keystone | target |",
        "| --- | ---: | ---: | --- |",
        f"| cold start, first run (migrate + bootstrap + first token) | {ours['cold_first']:.2f} s | — | |",
        f"| cold start, restart -> first token | {ours['cold_restart']:.2f} s | — | <= 2 s |",
        f"| RSS before load | {rss(ours, 'rss_before')} | {rss(theirs, 'rss_before')} | |",
        f"| RSS after load | {rss(ours, 'rss_after')} | {rss(theirs, 'rss_after')} | <= 150 MB |",
        "",
    ]
    if theirs:
        try:
            ratio = float(ours["validate@8"]["rps"]) / float(theirs["validate@8"]["rps"])  # type: ignore[index]
            issue = float(ours["issue@8"]["rps"]) / float(theirs["issue@8"]["rps"])  # type: ignore[index]
            lines.append(
                f"Token validation at concurrency 8: {ratio:.1f}× Keystone's (target ≥ 5×); token issue: {issue:.1f}× (target ≥ 1×)."
            )
            lines.append("")
        except (KeyError, ValueError, ZeroDivisionError):
            pass
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--no-anchor", action="store_true", help="skip the real Keystone")
    parser.add_argument("--write", type=Path, help="replace the identity section of this markdown file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/identity.py: install wrk (apt-get install wrk)")
    ours = run_pocketstack(args.duration)
    print(ours["raw"])
    theirs = None
    if not args.no_anchor:
        if anchor_installed():
            theirs = run_anchor(args.duration)
            print(theirs["raw"])
        else:
            print("keystone anchor not installed: CACHE=1 ../shared/conformance/keystone-anchor install", file=sys.stderr)
    text = report(ours, theirs, args.duration)
    print(text)
    if args.write:
        write_section(args.write, "## Identity (issue #2)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
