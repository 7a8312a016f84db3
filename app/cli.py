"""Command-line commands: ``flask --app app db upgrade``, ``demo``, ``totp-now``,
``export-bundle``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from . import db


def init_app(app: Flask) -> None:
    from .alarms.cli import init_app as init_alarms_cli
    from .committee.cli import init_app as init_committee_cli

    init_alarms_cli(app)
    init_committee_cli(app)
    db_group = AppGroup("db", help="Schema migrations (Alembic).")

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def upgrade_cmd(revision: str) -> None:
        """Bring the database schema up to REVISION (default: the newest)."""
        from .migrate import current_revision, upgrade

        upgrade(db.engine(), revision)
        click.echo(f"Database at revision {current_revision(db.engine())}.")

    @db_group.command("revision")
    @click.option("-m", "--message", required=True)
    def revision_cmd(message: str) -> None:
        """Write a new migration from the difference between models and database."""
        from alembic import command

        from .migrate import alembic_config

        command.revision(
            alembic_config(str(db.engine().url)), message=message, autogenerate=True
        )

    @db_group.command("current")
    def current_cmd() -> None:
        from .migrate import current_revision, head_revision

        click.echo(f"current {current_revision(db.engine())}, head {head_revision()}")

    app.cli.add_command(db_group)

    @app.cli.command("demo")
    @click.option("--force", is_flag=True, help="Build even if a demo community exists.")
    def demo_cmd(force: bool) -> None:
        """Build the demo community (once) and print the demo logins."""
        from .demo import build_demo, print_logins

        session = db.session()
        built = build_demo(session, force=force)
        session.commit()
        click.echo("Demo community built." if built else "Demo community already there: kept.")
        print_logins(session)

    @app.cli.command("totp-now")
    @click.argument("username")
    def totp_now_cmd(username: str) -> None:
        """Print the current TOTP code of a demo account (demo accounts only)."""
        import pyotp
        from sqlalchemy import select

        from .models import User

        user = db.session().scalar(select(User).where(User.username == username))
        if user is None or not user.is_demo or not user.totp_secret:
            raise click.ClickException("Only demo accounts with TOTP can print a code.")
        click.echo(pyotp.TOTP(user.totp_secret).now())

    @app.cli.command("export-bundle")
    @click.argument("meeting_id", type=int)
    @click.argument("file", type=click.Path(dir_okay=False, writable=True))
    def export_bundle_cmd(meeting_id: int, file: str) -> None:
        """Write the audit bundle of meeting MEETING_ID to FILE (check it with
        ``python -m elections.verify FILE``)."""
        from pathlib import Path

        from .errors import DomainError
        from .meetings.opening import meeting_bundle
        from .models import Meeting

        session = db.session()
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise click.ClickException(f"No meeting {meeting_id}.")
        try:
            with app.test_request_context():  # messages are translated per request
                data = meeting_bundle(session, meeting)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
        Path(file).write_bytes(data)
        click.echo(f"Audit bundle of meeting {meeting_id} ({meeting.title}) written to {file}, "
                   f"{len(data)} bytes. Check it: python -m elections.verify {file}")
