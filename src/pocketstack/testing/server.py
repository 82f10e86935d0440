"""Run a real pocketstack all-in-one in a child process, for tests and benchmarks.

    with LiveCloud(tmp_path, database_url=None) as cloud:
        cloud.env()        # OS_* variables of the admin (keystonerc_admin)
        cloud.url          # http://127.0.0.1:PORT

The server is started with `python -m pocketstack allinone` exactly as a user would,
on a free loopback port, and stopped (SIGTERM, then SIGKILL) by PID on exit.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_rc(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        m = re.match(r"export (OS_\w+)=(.*)$", line.strip())
        if m:
            env[m.group(1)] = shlex.split(m.group(2))[0] if m.group(2) else ""
    return env


class LiveCloud:
    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        hash_rounds: int | None = 4,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(extra_env or {})
        # test clouds publish no test guest unless asked (tests/e2e does): most never boot one
        self.extra_env.setdefault("POCKETSTACK_COMPUTE__TEST_IMAGE", "false")
        # test clouds build no real network dataplane unless asked (tests/e2e does): a stopped
        # cloud leaves its dataplane in place, as Neutron's agents do
        self.extra_env.setdefault("POCKETSTACK_NETWORK__DATAPLANE", "noop")
        if hash_rounds is not None:
            # cheaper bcrypt keeps the suite quick; the benchmarks use the real cost
            self.extra_env.setdefault("POCKETSTACK_IDENTITY__PASSWORD_HASH_ROUNDS", str(hash_rounds))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "server.log"

    def start(self, timeout: float = 30.0) -> LiveCloud:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pocketstack", "allinone", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        env = {**os.environ, **self.extra_env}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pocketstack exited with {self.proc.returncode}:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(self.url + "/identity/v3", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pocketstack did not answer within {timeout}s:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def env(self, who: str = "admin") -> dict[str, str]:
        return read_rc(self.data_dir / f"keystonerc_{who}")

    def __enter__(self) -> LiveCloud:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
