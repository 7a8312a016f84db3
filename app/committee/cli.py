"""``flask --app app committee remind``: send the term reminders that are due (each once)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import db


def init_app(app: Flask) -> None:
    group = AppGroup("committee", help="The owners' committee.")

    @group.command("remind")
    @click.option("--months", default="6,3", show_default=True,
                  help="Months before the term ends, comma-separated.")
    def remind_cmd(months: str) -> None:
        """Tell each serving committee and its community office that the term is ending.

        Idempotent: a reminder already sent is never sent again, so run it daily."""
        from ..models import utcnow
        from .reminders import send_reminders

        try:
            chosen = tuple(sorted({int(m) for m in months.split(",") if m.strip()}))
        except ValueError as exc:
            raise click.BadParameter("months must be whole numbers, e.g. 6,3") from exc
        if not chosen or min(chosen) <= 0:
            raise click.BadParameter("months must be positive, e.g. 6,3")
        session = db.session()
        sent = send_reminders(session, now=utcnow(), months=chosen)
        session.commit()
        click.echo(f"{sent} reminder(s) sent.")

    app.cli.add_command(group)
