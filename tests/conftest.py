"""Fixtures shared by every layer of tests.

The database is made by the migrations (never ``create_all``), once per run: an SQLite file, or
a schema of its own in the PostgreSQL database named by ``TEST_DATABASE_URL`` when
``COURTYARD_TEST_DB=postgresql``; it is dropped at the end. Each test runs inside a transaction
that is rolled back, so tests never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import create_app
from app.db import make_engine
from app.migrate import upgrade

# Properties are about results, not speed: a loaded CI machine must not fail a correct one.
settings.register_profile("courtyard", deadline=None)
settings.load_profile("courtyard")

BACKEND = os.environ.get("COURTYARD_TEST_DB", "sqlite")
PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
) or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pytest_report_header(config):
    return f"courtyard database backend: {BACKEND}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    if BACKEND == "postgresql":
        schema = f"cy_test_{os.getpid()}_{secrets.token_hex(3)}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    yield eng
    eng.dispose()
    if BACKEND == "postgresql":
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def connection(engine):
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def db_session(connection) -> Session:
    """A session for arranging and inspecting data; commits become savepoint releases."""
    s = Session(bind=connection, join_transaction_mode="create_savepoint",
                expire_on_commit=False)
    yield s
    s.close()


@pytest.fixture
def app(engine, connection):
    instance = Path(tempfile.mkdtemp(prefix="cy-instance-"))
    os.environ.setdefault("COURTYARD_INSTANCE", str(instance))
    application = create_app(
        {
            "TESTING": True,
            "DB_ENGINE": engine,
            "DATABASE_URL": str(engine.url),
            "SCHEMA_CHECK": False,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "test-secret",
            "ID_HASH_KEY": "test-id-key",
            "SERVER_NAME": "localhost",
        }
    )
    application.extensions["DB_SESSION_FACTORY"] = lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return application


@pytest.fixture
def client(app):
    return app.test_client()
