"""The test guest: a tiny bootable image built from Debian packages (see build.py)."""

from pocketstack.guest.build import GuestImageError, build_test_image

__all__ = ["GuestImageError", "build_test_image"]
