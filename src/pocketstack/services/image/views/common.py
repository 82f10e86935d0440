"""Shapes every image view shares."""

from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime | None) -> str | None:
    """Glance's timestamps: UTC, to the second, with a Z."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
