"""What every networking backend module shares: who is looking, and inserting rows that
the database may refuse as duplicates under concurrency (retried in a savepoint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext

T = TypeVar("T")


@dataclass(frozen=True)
class Viewer:
    """The caller as the backend needs them: their project, and whether they are an
    admin (who sees every project's resources)."""

    project_id: str | None
    is_admin: bool

    @classmethod
    def of(cls, ctx: RequestContext) -> Viewer:
        return cls(ctx.project_id, ctx.is_admin)


def try_insert(db: Session, row: Any) -> bool:
    """Insert `row` in a savepoint; False (and nothing written) if the database refuses
    it as a duplicate, so the caller may try another value in the same transaction."""
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
        return True
    except IntegrityError:
        return False


def insert_first_free(db: Session, candidates: Callable[[set[Any]], Any | None], make: Callable[[Any], T], attempts: int = 64) -> T | None:
    """Insert a row for the first value the database accepts: `candidates(refused)` offers
    a value (None when there is none left), `make(value)` builds the row. Values another
    transaction took meanwhile are refused by a unique key and another is offered."""
    refused: set[Any] = set()
    for _ in range(attempts):
        value = candidates(refused)
        if value is None:
            return None
        row = make(value)
        if try_insert(db, row):
            return row
        refused.add(value)
    return None
