"""Where image data lives: filesystem stores under <data_dir>/images/<store id>, plus a
staging area for `PUT /stage` data waiting to be imported.

Data is written to a temporary file inside the store (same filesystem), fsynced, and
only then renamed to its final name, so a crash never leaves a half-written file under
an image's name. Hashes are computed while the bytes stream through, on worker threads,
so receiving the next block overlaps hashing and writing the previous one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from pocketstack.config import ImageSettings

BLOCK = 4 * 1024 * 1024  # bytes handed to the writer threads at a time
INCOMING = ".incoming"
STAGING = "staging"


class DataTooLarge(Exception):
    """More bytes arrived than the image may hold (quota or size cap)."""


@dataclass
class Received:
    path: Path  # the temporary file holding the data, fsynced
    size: int
    checksum: str  # md5, Glance's legacy `checksum`
    hash_value: str  # os_hash_value with the configured algorithm


class ImageStore(Protocol):
    """What the image service asks of a store (a filesystem directory today; an object
    store or Ceph pool would answer the same calls)."""

    id: str
    description: str

    def ensure(self) -> None: ...
    def path(self, image_id: str) -> Path: ...
    def has(self, image_id: str) -> bool: ...
    def new_temp(self) -> Path: ...
    def commit(self, temp: Path, image_id: str) -> Path: ...
    def copy_in(self, source: Path, image_id: str) -> None: ...
    def delete(self, image_id: str) -> None: ...
    def clean_incoming(self) -> int: ...
    def space(self) -> tuple[int, int]: ...


class FilesystemStore:
    """A store that is a directory: <root>/<image id>, written through <root>/.incoming."""

    def __init__(self, store_id: str, root: Path, description: str = "") -> None:
        self.id = store_id
        self.root = root
        self.description = description
        self.incoming = root / INCOMING

    def ensure(self) -> None:
        self.incoming.mkdir(parents=True, exist_ok=True)

    def path(self, image_id: str) -> Path:
        return self.root / image_id

    def has(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    def new_temp(self) -> Path:
        self.ensure()
        return self.incoming / uuid.uuid4().hex

    def commit(self, temp: Path, image_id: str) -> Path:
        """Give fsynced data in `temp` its final name (atomic on one filesystem)."""
        final = self.path(image_id)
        os.replace(temp, final)
        _fsync_dir(self.root)
        return final

    def copy_in(self, source: Path, image_id: str) -> None:
        """Copy data another store (or the staging area) holds, through a temp file."""
        temp = self.new_temp()
        try:
            with open(source, "rb") as src, open(temp, "wb") as dst:
                shutil.copyfileobj(src, dst, BLOCK)
                dst.flush()
                os.fsync(dst.fileno())
            self.commit(temp, image_id)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, image_id: str) -> None:
        self.path(image_id).unlink(missing_ok=True)

    def clean_incoming(self) -> int:
        """Drop temporary files a crash left behind; returns how many."""
        if not self.incoming.is_dir():
            return 0
        stale = list(self.incoming.iterdir())
        for leftover in stale:
            leftover.unlink(missing_ok=True)
        return len(stale)

    def space(self) -> tuple[int, int]:
        """(total, free) bytes of the filesystem under the store."""
        self.ensure()
        usage = shutil.disk_usage(self.root)
        return usage.total, usage.free


class Stores:
    """Every configured store, and the staging area."""

    def __init__(self, root: Path, settings: ImageSettings) -> None:
        self.settings = settings
        self.by_id: dict[str, ImageStore] = {sid: FilesystemStore(sid, root / sid, desc) for sid, desc in settings.stores.items()}
        self.default = self.by_id[settings.default_store]
        self.staging = FilesystemStore(STAGING, root / STAGING, "data staged for import")

    def ensure(self) -> None:
        for store in [*self.by_id.values(), self.staging]:
            store.ensure()

    def path_url(self, store_id: str, image_id: str) -> str:
        store = self.by_id.get(store_id)
        return (store.path(image_id) if store else Path("/") / store_id / image_id).as_uri()

    def weight(self, store_id: str) -> int:
        return self.settings.store_weights.get(store_id, 0)

    def ordered(self, store_ids: list[str]) -> list[str]:
        """Heaviest store first, then by name: the order images show their stores in."""
        return sorted(store_ids, key=lambda sid: (-self.weight(sid), sid))

    def get(self, store_id: str) -> ImageStore | None:
        return self.by_id.get(store_id)

    def locate(self, image_id: str, store_ids: list[str]) -> Path | None:
        """The file of an image in the first of its stores that has it."""
        for sid in store_ids:
            store = self.by_id.get(sid)
            if store is not None and store.has(image_id):
                return store.path(image_id)
        return None

    def delete_everywhere(self, image_id: str) -> None:
        for store in [*self.by_id.values(), self.staging]:
            store.delete(image_id)

    def remove_orphans(self, known_ids: set[str]) -> int:
        """Delete data files of images that no longer exist (a crash between a row's
        deletion and its file's); returns how many."""
        removed = 0
        for store in [*self.by_id.values(), self.staging]:
            for entry in store.root.iterdir():
                if entry.is_file() and entry.name not in known_ids:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed

    def clean_incoming(self) -> int:
        return sum(store.clean_incoming() for store in [*self.by_id.values(), self.staging])


IN_FLIGHT = 3  # blocks handed to the lanes and not yet done: bounds memory to ~12 MiB per upload


class _Lanes:
    """Three one-thread lanes per upload: md5, the secure hash and the file write each
    run in order on their own thread (all three release the GIL on large buffers), so
    they overlap with each other and with receiving the next block."""

    def __init__(self, *steps: Callable[[list[bytes]], None]) -> None:
        self.steps = steps
        self.pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-data") for _ in steps]
        self.pending: deque[list[asyncio.Future[None]]] = deque()

    async def submit(self, block: list[bytes]) -> None:
        loop = asyncio.get_running_loop()
        self.pending.append([loop.run_in_executor(pool, step, block) for pool, step in zip(self.pools, self.steps)])
        while len(self.pending) > IN_FLIGHT:
            await asyncio.gather(*self.pending.popleft())

    async def drain(self) -> None:
        while self.pending:
            await asyncio.gather(*self.pending.popleft(), return_exceptions=False)

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(wait=True)


async def receive(chunks: AsyncIterator[bytes], temp: Path, hash_algo: str, limit: int) -> Received:
    """Stream request chunks into `temp` while hashing them; fsync before returning.

    Raises DataTooLarge past `limit` bytes. On any failure the temp file is removed."""
    md5 = hashlib.md5(usedforsecurity=False)
    other = hashlib.new(hash_algo)
    size = 0
    with open(temp, "wb") as out:  # buffered: it completes partial writes, large ones pass straight through
        lanes = _Lanes(_each(md5.update), _each(other.update), out.writelines)
        try:
            async for block in _blocks(chunks):
                size += sum(len(piece) for piece in block)
                if size > limit:
                    raise DataTooLarge(f"Image data exceeds the limit of {limit} bytes.")
                await lanes.submit(block)
            await lanes.drain()
            await asyncio.get_running_loop().run_in_executor(lanes.pools[-1], _flush_and_sync, out)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        finally:
            # in-flight writes finish before the file closes (or goes away)
            await asyncio.get_running_loop().run_in_executor(None, lanes.close)
    return Received(temp, size, md5.hexdigest(), other.hexdigest())


def _flush_and_sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _each(update: Callable[[bytes], object]) -> Callable[[list[bytes]], None]:
    def apply(block: list[bytes]) -> None:
        for piece in block:
            update(piece)

    return apply


async def _blocks(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """Group the ASGI chunks into lists of about BLOCK bytes (never copied: the lanes
    hash and write the pieces as they came)."""
    block: list[bytes] = []
    held = 0
    async for chunk in chunks:
        if not chunk:
            continue
        block.append(chunk)
        held += len(chunk)
        if held >= BLOCK:
            yield block
            block, held = [], 0
    if block:
        yield block


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: Path, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    """The bytes of a file in BLOCK-sized pieces (for copies that are not HTTP responses)."""
    with open(path, "rb") as f:
        f.seek(start)
        remaining = length
        while remaining is None or remaining > 0:
            want = BLOCK if remaining is None else min(BLOCK, remaining)
            piece = f.read(want)
            if not piece:
                return
            if remaining is not None:
                remaining -= len(piece)
            yield piece
