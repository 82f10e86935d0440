"""What the end-to-end tests share: the test guest image, built once per run (cached),
and the condition they need (Debian's apt-get to fetch packages, qemu-system-x86)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pocketstack.guest import build_test_image

needs_qemu = pytest.mark.skipif(
    not (shutil.which("apt-get") and shutil.which("qemu-system-x86_64")),
    reason="needs a Debian host with qemu-system-x86 (scripts/setup installs it)",
)


@pytest.fixture(scope="session")
def guest_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_image(tmp_path_factory.mktemp("guest-images"))
