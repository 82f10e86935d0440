"""core.db: one transaction per unit of work, rolled back on error; SQLite writers take
the lock up front (BEGIN IMMEDIATE) so concurrent writes queue instead of failing."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pocketstack.core.db import Database


class Base(DeclarativeBase):
    pass


class Counter(Base):
    __tablename__ = "counter"
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    Base.metadata.create_all(db.engine)
    with db.write() as s:
        s.add(Counter(name="hits", value=0))
    yield db
    db.dispose()


def value(db: Database) -> int:
    with db.read() as s:
        return s.get(Counter, "hits").value  # type: ignore[union-attr]


def test_write_commits_on_success(database: Database) -> None:
    with database.write() as s:
        s.get(Counter, "hits").value = 5  # type: ignore[union-attr]
        s.add(Counter(name="other", value=1))
    assert value(database) == 5
    with database.read() as s:
        assert s.scalars(select(Counter.name).order_by(Counter.name)).all() == ["hits", "other"]


def test_raising_write_rolls_everything_back(database: Database) -> None:
    with pytest.raises(RuntimeError):
        with database.write() as s:
            s.get(Counter, "hits").value = 99  # type: ignore[union-attr]
            s.add(Counter(name="half-made", value=1))
            s.flush()  # the rows really reached the database before the error
            raise RuntimeError("boom")
    assert value(database) == 0
    with database.read() as s:
        assert s.get(Counter, "half-made") is None


def test_sqlite_is_in_wal_mode_with_foreign_keys(database: Database) -> None:
    with database.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_write_session_holds_the_write_lock_from_its_start(database: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "test.db", timeout=0, isolation_level=None)
    try:
        with database.write():
            # nothing written yet, but BEGIN IMMEDIATE already reserved the database
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            # readers are never blocked (WAL)
            assert other.execute("SELECT value FROM counter").fetchone() == (0,)
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_read_session_does_not_take_the_write_lock(database: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "test.db", timeout=0, isolation_level=None)
    try:
        with database.read() as s:
            s.get(Counter, "hits")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_concurrent_read_modify_write_loses_nothing(database: Database, tmp_path: Path) -> None:
    # a second Database on the same file stands for another process: only SQLite's own
    # lock (BEGIN IMMEDIATE + busy timeout) keeps the two apart, not our thread lock
    second = Database(f"sqlite:///{tmp_path / 'test.db'}")
    errors: list[BaseException] = []

    def bump(db: Database, times: int) -> None:
        try:
            for _ in range(times):
                with db.write() as s:
                    row = s.get(Counter, "hits")
                    row.value += 1  # type: ignore[union-attr]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(db, 25)) for db in (database, second, database, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.dispose()
    assert errors == []
    assert value(database) == 100
