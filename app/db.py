"""The database: one engine per app, one session per request.

Views never commit: the request pipeline commits once when the response is a success and rolls
back otherwise (see ``app.__init__``). Services flush when they need ids.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and real transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy emit BEGIN itself so that SAVEPOINTs work (pysqlite quirk).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def init_app(app: Flask) -> None:
    #: Tests hand in their engine (one per run) through the config.
    engine = app.config.get("DB_ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions["DB_ENGINE"] = engine
    app.extensions["DB_SESSIONMAKER"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def engine() -> Engine:
    return current_app.extensions["DB_ENGINE"]


def engine_of(app: Flask) -> Engine:
    return app.extensions["DB_ENGINE"]


def session() -> Session:
    """The session of the current request (or CLI command)."""
    if "db_session" not in g:
        factory = current_app.extensions.get("DB_SESSION_FACTORY") or current_app.extensions[
            "DB_SESSIONMAKER"
        ]
        g.db_session = factory()
    return g.db_session
