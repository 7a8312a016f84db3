"""The schema comes from the migrations, and the models agree with it."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app import create_app
from app.db import make_engine
from app.migrate import SchemaOutOfDate, check_schema, head_revision
from app.models import Base


def test_models_match_migrations(engine):
    """Does a model change without a migration (or the reverse) fail here?"""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_database_is_at_head(engine):
    check_schema(engine)
    assert head_revision() is not None


def test_app_refuses_an_unmigrated_database(tmp_path):
    """Does the site refuse to start on an empty database, naming the command to run?"""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(SchemaOutOfDate, match="flask --app app db upgrade"):
        create_app({"DATABASE_URL": url, "DB_ENGINE": make_engine(url)})
