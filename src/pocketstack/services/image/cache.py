"""The image cache of this API node (Glance's image cache, managed by /v2/cache): local
copies of images, made when an administrator queues them, served to downloads instead of
fetching from the image's store. It pays off for images whose data is far away (the http
store) and keeps a node's hot images local when stores are remote.

The cache is this node's own state, in <data_dir>/images/cache: one file per image
(written through a temporary file, like every store), and the queue of images waiting to
be copied. Hit counts live in memory."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .store import BLOCK, FilesystemStore

log = logging.getLogger("pocketstack.image")


class ImageCache:
    def __init__(self, root: Path) -> None:
        self.files = FilesystemStore("cache", root, "this node's image cache")
        self._queued: set[str] = set()
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-cache")

    def queue(self, image_id: str, fetch: Callable[[Path], None]) -> None:
        """Copy an image in, soon: `fetch(dest)` writes its data to a temporary file."""
        with self._lock:
            if image_id in self._queued or self.files.has(image_id):
                return
            self._queued.add(image_id)
        self._worker.submit(self._fill, image_id, fetch)

    def _fill(self, image_id: str, fetch: Callable[[Path], None]) -> None:
        temp = self.files.new_temp()
        try:
            fetch(temp)
            with self._lock:
                if image_id in self._queued:  # not dropped from the queue meanwhile
                    self.files.commit(temp, image_id)
        except Exception:
            log.exception("caching image %s failed", image_id)
        finally:
            temp.unlink(missing_ok=True)
            with self._lock:
                self._queued.discard(image_id)

    def path(self, image_id: str) -> Path | None:
        """The cached copy, counting the hit; None when the image is not cached."""
        if not self.files.has(image_id):
            return None
        with self._lock:
            self._hits[image_id] = self._hits.get(image_id, 0) + 1
        return self.files.path(image_id)

    def listing(self) -> dict[str, Any]:
        self.files.ensure()
        cached = []
        for entry in sorted(self.files.root.iterdir()):
            if entry.is_file():
                stat = entry.stat()
                cached.append(
                    {
                        "image_id": entry.name,
                        "hits": self._hits.get(entry.name, 0),
                        "last_accessed": stat.st_atime,  # POSIX timestamps, as Glance reports them
                        "last_modified": stat.st_mtime,
                        "size": stat.st_size,
                    }
                )
        with self._lock:
            queued = sorted(self._queued)
        return {"cached_images": cached, "queued_images": queued}

    def forget(self, image_id: str) -> None:
        with self._lock:
            self._queued.discard(image_id)
            self._hits.pop(image_id, None)
        self.files.delete(image_id)

    def clear(self, *, cached: bool = True, queued: bool = True) -> None:
        with self._lock:
            if queued:
                self._queued.clear()
        if cached:
            self.files.ensure()
            for entry in self.files.root.iterdir():
                if entry.is_file():
                    self.forget(entry.name)


def copy_file(source: Path) -> Callable[[Path], None]:
    def fetch(dest: Path) -> None:
        with open(source, "rb") as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, BLOCK)
            out.flush()
            os.fsync(out.fileno())

    return fetch


def fetch_url(url: str, check: Callable[[str], None]) -> Callable[[Path], None]:
    """Data of an http location (its host checked again when the copy runs)."""

    def fetch(dest: Path) -> None:
        import httpx

        check(url)
        with httpx.stream("GET", url, timeout=60, follow_redirects=False) as reply, open(dest, "wb") as out:
            reply.raise_for_status()
            for chunk in reply.iter_bytes(BLOCK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())

    return fetch
