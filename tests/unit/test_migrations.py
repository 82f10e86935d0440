"""The migrations build exactly the tables the models describe: a model change without
its migration (or a hand-written migration that drifted) fails here, not on a user's
database."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from pocketstack.core.db import Base
from pocketstack.migrations import upgrade
from pocketstack.models import import_all_models


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    import_all_models()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
