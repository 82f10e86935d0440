"""What every benchmark script shares: sampling a process's memory and CPU, logging in
as the admin of a LiveCloud, and writing its section of docs/benchmarks.md."""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from pocketstack.testing.server import LiveCloud  # noqa: E402

HEADER = "# Benchmarks\n\nEvery figure here is measured by a script in benchmarks/, next to its anchor measured in the same run.\n\n"


class Sampler:
    """VmRSS and CPU time of one process, sampled on a thread while a transfer runs."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu_start = 0.0
        self.cpu_used = 0.0

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for pid {self.pid}")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime + stime, plus the children it waited for (qemu-img inspecting an upload)
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.rss_kb())
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._cpu_start = self.cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.rss_kb())
        self.cpu_used = self.cpu_seconds() - self._cpu_start


def admin_token(cloud: LiveCloud) -> str:
    env = cloud.env("admin")
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": env["OS_USERNAME"], "domain": {"name": "Default"}, "password": env["OS_PASSWORD"]}},
            },
            "scope": {"project": {"name": env["OS_PROJECT_NAME"], "domain": {"name": "Default"}}},
        }
    }
    reply = httpx.post(cloud.url + "/identity/v3/auth/tokens", json=body, timeout=30)
    reply.raise_for_status()
    return reply.headers["X-Subject-Token"]


def write_section(path: Path, title: str, section: str) -> None:
    """Replace the section headed `title` ("## Image (issue #3)") in the file, or append it;
    the other sections stay as they are."""
    old = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(title) + r".*?(?=\n## |\Z)", re.S)
    new = pattern.sub(lambda _: section.rstrip() + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + section
    path.write_text(new)
