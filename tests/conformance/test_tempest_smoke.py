"""OpenStack Tempest's identity smoke tests against a fresh all-in-one cloud.

Uses ../shared/conformance (setup makes Tempest's venv once, run-tempest writes
tempest.conf from the cloud and prints "N passed, N failed, N skipped" last); skipped
when that directory is absent. About a minute: most of it is Tempest's own start-up.
The full identity run is scripts/tempest-identity.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pocketstack.testing.server import LiveCloud
from pocketstack.testing.spec import shared_dir

SMOKE = r"tempest\.api\.identity\..*\[.*smoke"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")

pytestmark = pytest.mark.tempest


@pytest.fixture(scope="module")
def conformance() -> Path:
    shared = shared_dir()
    found = shared / "conformance" if shared else None
    if found is None or not (found / "run-tempest").is_file():
        pytest.skip("../shared/conformance (Tempest harness) is not present beside the checkout")
    setup = subprocess.run([str(found / "setup")], capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
    assert setup.returncode == 0, f"conformance setup failed:\n{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}"
    return found


@pytest.fixture(scope="module")
def smoke_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    with LiveCloud(tmp_path_factory.mktemp("tempest-cloud")) as live:
        yield live


def test_tempest_identity_smoke(conformance: Path, smoke_cloud: LiveCloud, tmp_path: Path, record_property: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TEMPEST_"))}
    env.update(smoke_cloud.env("admin"))
    env.update(TEMPEST_WORKDIR=str(tmp_path / "tempest"), TEMPEST_CONCURRENCY="2")
    proc = subprocess.run(
        [str(conformance / "run-tempest"), SMOKE],
        capture_output=True, text=True, env=env, timeout=900, stdin=subprocess.DEVNULL,
    )
    lines = proc.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    record_property("summary", f"tempest identity smoke ({SMOKE}): {last or 'no output'}")  # shown at the end
    match = SUMMARY.match(last)
    assert match, f"no summary line from run-tempest (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    passed, failed = int(match.group(1)), int(match.group(2))
    failures = "\n".join(line for line in lines if line.startswith("FAILED: ")) or proc.stdout[-4000:]
    assert failed == 0 and passed > 0, f"{last}\n{failures}\n(server log: {smoke_cloud.log_path})"
