"""A blocking QMP session on a QEMU monitor's unix socket, on top of the `qemu.qmp` library.

`qemu.qmp` speaks the protocol (greeting, capability negotiation, command ids, events,
SCM_RIGHTS fd passing) but is asyncio-only; its own synchronous shim (`qemu.qmp.legacy`)
binds an event loop to the calling thread for good. The driver is called from the compute
agent's worker threads, so each session here owns a private event loop that lives exactly
as long as the connection. Consequence: a session cannot be used from a thread whose asyncio
loop is running (that thread must not block anyway).

QEMU's monitor serves one client at a time (the next one waits for the greeting), so callers
keep sessions short: connect, run a few commands, close; never hold one while waiting.

Unix socket paths are limited to 107 bytes. A longer one is reached through the kernel's
/proc/self/fd/<directory fd>/<name> alias, so an instances directory deep inside a test's
temporary directory still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from qemu.qmp import ConnectError, ExecInterruptedError, ExecuteError, QMPClient, QMPError

# qemu.qmp logs every failed connect at ERROR level; each failure here becomes a QmpError that the
# caller handles (a guest that just stopped is no error), so the library's own log is only noise
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)

SUN_PATH_MAX = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux
DEFAULT_TIMEOUT_S = 10.0


class QmpError(Exception):
    """Talking to the monitor failed."""


class QmpUnavailable(QmpError):
    """No monitor answered: QEMU is not running (or not listening yet)."""


class QmpCommandError(QmpError):
    """The monitor answered a command with an error (its class and description)."""

    def __init__(self, command: str, error_class: str, description: str) -> None:
        super().__init__(f"{command}: {description}")
        self.command = command
        self.error_class = error_class
        self.description = description


class QmpSession:
    """One connection to a QEMU monitor: ``with QmpSession(path) as qmp: qmp.execute("query-status")``."""

    def __init__(self, socket_path: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: QMPClient | None = None

    def __enter__(self) -> QmpSession:
        self._loop = asyncio.new_event_loop()
        self._client = QMPClient(f"qmp:{self.socket_path.parent.name}")
        try:
            with connectable_socket_path(self.socket_path) as address:
                self._run(self._client.connect(address), self.timeout)
        except (OSError, EOFError, QMPError, asyncio.TimeoutError) as error:
            self.close()  # a timed-out connect leaves the client half-connected: stop its tasks
            raise QmpUnavailable(f"no QEMU monitor at {self.socket_path}: {_reason(error)}") from None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._loop is None or self._client is None:
            return
        try:
            self._run(self._client.disconnect(), self.timeout)
        except (OSError, EOFError, QMPError, asyncio.TimeoutError):
            pass  # the peer went away first (after `quit`, disconnect re-raises the reader's EOFError)
        finally:
            self._loop.close()
            self._loop = self._client = None

    def execute(self, command: str, arguments: Mapping[str, object] | None = None, *, timeout: float | None = None) -> object:
        """Run one command and return its "return" value; QmpCommandError if QEMU refused it,
        QmpUnavailable if the connection broke before the answer."""
        assert self._client is not None, "execute() outside of `with`"
        try:
            return self._run(self._client.execute(command, dict(arguments) if arguments else None), timeout or self.timeout)
        except ExecuteError as error:
            raise QmpCommandError(command, error.error_class, str(error)) from None
        except (ExecInterruptedError, OSError, EOFError, QMPError, asyncio.TimeoutError) as error:
            raise QmpUnavailable(f"{command}: the monitor went away ({_reason(error)})") from None

    def pass_fd(self, fd: int, name: str) -> None:
        """Hand QEMU a file descriptor under `name` (SCM_RIGHTS + getfd), e.g. for ``migrate fd:<name>``."""
        assert self._client is not None, "pass_fd() outside of `with`"
        self._client.send_fd_scm(fd)
        self.execute("getfd", {"fdname": name})

    def _run(self, coroutine, timeout: float):
        assert self._loop is not None
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, timeout))


def qmp_execute(socket_path: Path, command: str, arguments: Mapping[str, object] | None = None, *, timeout: float = DEFAULT_TIMEOUT_S):
    """One command in a session of its own."""
    with QmpSession(socket_path, timeout=timeout) as qmp:
        return qmp.execute(command, arguments)


@contextlib.contextmanager
def connectable_socket_path(path: Path) -> Iterator[str]:
    """`path` itself when it fits in sockaddr_un, else the same socket through a /proc/self/fd alias
    (valid inside the `with`). For any unix socket of a guest, e.g. its VNC server's."""
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectError):
        return _reason(error.exc)
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__
