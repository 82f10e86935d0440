"""What the end-to-end tests share: the test guest image, built once per run (cached),
and the condition they need (Debian's apt-get to fetch packages, qemu-system-x86)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pocketstack.config import default_guest_image_cache
from pocketstack.guest import build_test_image

needs_qemu = pytest.mark.skipif(
    not (shutil.which("apt-get") and shutil.which("qemu-system-x86_64")),
    reason="needs a Debian host with qemu-system-x86 (scripts/setup installs it)",
)


@pytest.fixture(scope="session")
def guest_image() -> Path:
    # the cache `pocketstack allinone` uses too: one build serves the driver and cloud tests
    return build_test_image(default_guest_image_cache())
