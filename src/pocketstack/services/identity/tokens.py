"""Token format: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`), as Keystone's.

A token carries only who/what/when; roles and catalog are looked up when it is
validated, so removing a role or disabling a project takes effect at once.

Keys live in `<data_dir>/fernet-keys/`, one file per key, named by number as Keystone
names them: the highest number is the primary (signs new tokens), 0 is the staged key
(the next primary), the rest still validate tokens they signed. `rotate()` promotes
the staged key, stages a new one and drops the oldest beyond `max_active_keys`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

MAX_ACTIVE_KEYS = 3


class KeyRepository:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def ensure(self) -> None:
        """Create the repository with a primary and a staged key if it has none."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self._key_files():
            self._write(0, Fernet.generate_key())
            self._write(1, Fernet.generate_key())

    def _key_files(self) -> dict[int, Path]:
        if not self.directory.is_dir():
            return {}
        return {int(p.name): p for p in self.directory.iterdir() if p.name.isdigit()}

    def _write(self, number: int, key: bytes) -> None:
        tmp = self.directory / f".{number}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / str(number))

    def keys(self) -> list[bytes]:
        """Keys, primary first (MultiFernet encrypts with the first)."""
        files = self._key_files()
        ordered = sorted(files, reverse=True)
        # the staged key (0) goes last: it validates but never signs
        ordered = [n for n in ordered if n != 0] + ([0] if 0 in files else [])
        return [files[n].read_bytes().strip() for n in ordered]

    def rotate(self, max_active_keys: int = MAX_ACTIVE_KEYS) -> int:
        self.ensure()
        files = self._key_files()
        new_primary = max(files) + 1
        os.replace(files[0], self.directory / str(new_primary))
        self._write(0, Fernet.generate_key())
        numbered = sorted(n for n in self._key_files() if n != 0)
        for old in numbered[: max(0, len(numbered) - (max_active_keys - 1))]:
            (self.directory / str(old)).unlink()
        return new_primary


@dataclass
class TokenPayload:
    user_id: str
    methods: list[str]
    issued_at: dt.datetime
    expires_at: dt.datetime
    audit_ids: list[str]
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    trust_id: str | None = None
    application_credential_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


def _ts(value: dt.datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _from_ts(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1_000_000, tz=dt.timezone.utc)


class TokenFormatter:
    """Signs and reads tokens; picks up rotated keys by itself (checked every few seconds),
    so `pocketstack keys rotate` needs no restart."""

    RELOAD_CHECK_SECONDS = 5.0

    def __init__(self, repository: KeyRepository) -> None:
        self.repository = repository
        self._checked_at = 0.0
        self._stamp: float | None = None
        self.reload()

    def reload(self) -> None:
        self._stamp = self._directory_stamp()
        self._fernet = MultiFernet([Fernet(k) for k in self.repository.keys()])

    def _directory_stamp(self) -> float | None:
        try:
            return self.repository.directory.stat().st_mtime
        except OSError:
            return None

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.RELOAD_CHECK_SECONDS:
            return
        self._checked_at = now
        if self._directory_stamp() != self._stamp:
            self.reload()

    def encode(self, payload: TokenPayload) -> str:
        self._maybe_reload()
        data: dict[str, Any] = {
            "u": payload.user_id,
            "m": payload.methods,
            "i": _ts(payload.issued_at),
            "e": _ts(payload.expires_at),
            "a": payload.audit_ids,
        }
        for key, value in (
            ("p", payload.project_id),
            ("d", payload.domain_id),
            ("s", payload.system),
            ("t", payload.trust_id),
            ("c", payload.application_credential_id),
        ):
            if value is not None:
                data[key] = value
        raw = json.dumps(data, separators=(",", ":")).encode()
        # Fernet tokens are url-safe base64 with '=' padding; strip it as Keystone does
        return self._fernet.encrypt(raw).decode().rstrip("=")

    def decode(self, token: str) -> TokenPayload | None:
        """The payload of a token we signed, or None (garbage, forged, unknown key)."""
        if not token or len(token) > 1024:
            return None
        self._maybe_reload()
        padded = token + "=" * (-len(token) % 4)
        try:
            data = json.loads(self._fernet.decrypt(padded.encode()))
        except (InvalidToken, ValueError, TypeError):
            return None
        return TokenPayload(
            user_id=data["u"],
            methods=data["m"],
            issued_at=_from_ts(data["i"]),
            expires_at=_from_ts(data["e"]),
            audit_ids=data["a"],
            project_id=data.get("p"),
            domain_id=data.get("d"),
            system=data.get("s"),
            trust_id=data.get("t"),
            application_credential_id=data.get("c"),
        )
