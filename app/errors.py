"""Domain errors and the one handler that turns them into responses."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain refused an action; ``status`` says how the web answers."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        if wants_json():
            body = {"error": {"code": err.code, "message": err.message}}
            if err.field:
                body["error"]["field"] = err.field
            return jsonify(body), err.status
        return render_template("error.html", status=err.status, message=err.message), err.status

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have access to this page."),
            404: _("This page does not exist."),
            405: _("This action is not allowed here."),
            413: _("The file is too large."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }
        message = messages.get(err.code or 500, err.description or "")
        if wants_json():
            return _api_http_error(err, message)
        return render_template("error.html", status=err.code, message=message), err.code


#: Headers of an HTTP error that an API client needs (Allow on 405, Retry-After on 429 …).
_KEPT_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


def _api_http_error(err: HTTPException, message: str):
    """``{"error": {"code", "message"}}`` with the status and the headers the status implies.

    A 401 carries ``WWW-Authenticate: Bearer`` (RFC 6750), with ``error="invalid_token"`` when a
    token was sent but is unknown, revoked or of a disabled account.
    """
    status = err.code or 500
    code = (err.name or "error").lower().replace(" ", "_")
    if status == 401:
        sent = request.headers.get("Authorization", "")
        message = (
            _("The token is unknown, revoked or of a disabled account.") if sent
            else _("Send a personal access token: Authorization: Bearer ct_…")
        )
    elif status == 500:
        message = _("Something went wrong on our side. Please try again later.")
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in err.get_headers():
        if name.lower() in _KEPT_HEADERS:
            response.headers[name] = value
    if status == 401:
        challenge = 'Bearer realm="courtyard"'
        if request.headers.get("Authorization"):
            challenge += ', error="invalid_token"'
        response.headers["WWW-Authenticate"] = challenge
    return response
