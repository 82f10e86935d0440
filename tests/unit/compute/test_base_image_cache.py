"""The compute agent's base-image cache (services/compute/images.py): servers booting the
same image at once share one copy, and nothing half-written is ever left behind."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pocketstack.config import Settings
from pocketstack.services.compute import images
from pocketstack.services.image.models import ACTIVE

IMAGE_ID = "0726acbd-006b-415a-8f2b-04015fb2a971"


class OneImage:
    """Stands in for the session (db.get) and the image stores (locate)."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def get(self, model: Any, image_id: str) -> Any:
        return SimpleNamespace(id=image_id, status=ACTIVE, stores=["local"], disk_format="raw")

    def locate(self, image_id: str, stores: list[str]) -> Path:
        return self.source


def test_concurrent_first_uses_share_one_copy_and_leave_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "image.raw"
    source.write_bytes(b"\0" * 4096)
    cache = images.BaseImageCache(Settings(data_dir=tmp_path / "data"))
    fake = OneImage(source)
    cache.stores = fake  # type: ignore[assignment]
    copies = []
    real_copy = images._link_or_copy

    def slow_copy(src: Path, dest: Path) -> None:  # widen the window two first uses raced in
        copies.append(threading.get_ident())
        time.sleep(0.2)
        real_copy(src, dest)

    monkeypatch.setattr(images, "_link_or_copy", slow_copy)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: cache.path_for(fake, IMAGE_ID), range(4)))  # type: ignore[arg-type]
    assert results == [(cache.root / f"{IMAGE_ID}.raw", "raw")] * 4
    assert len(copies) == 1  # the others waited for it
    assert sorted(p.name for p in cache.root.iterdir()) == [f"{IMAGE_ID}.raw"]


def test_a_failed_copy_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = images.BaseImageCache(Settings(data_dir=tmp_path / "data"))
    fake = OneImage(tmp_path / "missing.raw")
    cache.stores = fake  # type: ignore[assignment]

    def failing_copy(src: Path, dest: Path) -> None:
        dest.write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(images, "_link_or_copy", failing_copy)
    with pytest.raises(OSError, match="disk full"):
        cache.path_for(fake, IMAGE_ID)  # type: ignore[arg-type]
    assert list(cache.root.iterdir()) == []
