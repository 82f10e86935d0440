"""Console auth tokens (Nova's console_auth_tokens): what a console URL's token grants, kept
in the database so every API process (and the same one after a restart) honours it.

Only the token's SHA-256 is stored, as Nova stores it: reading the table gives nobody a
working console URL. Rows are purged once expired and deleted with their server."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pocketstack.core.db import Base, UtcDateTime, utcnow


class ConsoleAuthToken(Base):
    __tablename__ = "compute_console_auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # sha256 hex digest
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    console_type: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    # where the proxy reaches the display: the guest's VNC unix socket
    internal_access_path: Mapped[str] = mapped_column(String(255))
    expires: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
