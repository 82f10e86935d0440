"""The loop every agent runs: compare desired state (the database) with actual state
(the host) and act on the difference, again and again (level-triggered, as Kubernetes
controllers do). A pass runs every `interval` seconds, or at once when `wake()` is
called (the API wakes the agent after a commit; a lost wake-up only costs the
interval). A failing pass is logged and the next one tries again: nothing is lost,
because everything the agent must do is written in the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("pocketstack.agents")


class ReconcileLoop:
    def __init__(self, name: str, reconcile: Callable[[], None], interval: float) -> None:
        self.name = name
        self.reconcile = reconcile
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> None:
        try:
            self.reconcile()
        except Exception:
            log.exception("%s: reconcile pass failed; the next pass retries", self.name)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_once()
            self._wake.wait(self.interval)
