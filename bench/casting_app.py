"""The site as gunicorn serves it, plus two bench-only routes (this app is never deployed).

* ``GET /bench/session/<user_id>`` opens a logged-in session for a demo owner and answers its
  CSRF token, so that the bench does not spend its setup on 2,000 argon2 verifications (0.2 s
  each on this machine): the login itself is not what is measured.
* ``POST /bench/bare`` is the floor: the same stack (gunicorn, Flask, session and CSRF checks,
  Flask-Login, one SQLAlchemy session and transaction on PostgreSQL) doing one insert.

    gunicorn --pythonpath bench casting_app:app
"""

from __future__ import annotations

from flask import abort, redirect, render_template_string, request
from flask_login import current_user, login_required, login_user
from sqlalchemy import text

from app import create_app, db
from app.models import User

app = create_app()


@app.get("/bench/session/<int:user_id>")
def bench_session(user_id: int):
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    login_user(user)
    return render_template_string("{{ csrf_token() }}")


@app.post("/bench/bare")
@login_required
def bench_bare():
    db.session().execute(
        text("INSERT INTO bench_ping (user_id, body) VALUES (:user, :body)"),
        {"user": current_user.id, "body": request.form.get("sealed", "")},
    )
    return redirect("/bench/done")
