"""A key holder's protected share, opened with their passphrase: the one way a scrutineer's or
a committee member's share is brought to open a ballot box or a tender's box."""

from __future__ import annotations

import base64
from collections.abc import Callable

from flask_babel import gettext as _

from elections import KeyShareError, WrongPassphraseError, unprotect_share

from .errors import DomainError


def open_share(protected: str, passphrase: str, *, box_id: str, holder_id: str,
               mismatch: Callable[[], str]) -> dict:
    """The share as stored once brought (``x``, ``y`` in hex, the holder's signing key).

    Errors name the field: a wrong passphrase, an unreadable text, or a share of another box
    or holder (``mismatch()`` says so in the area's words; it is called only then, so the
    service also runs outside a request)."""
    try:
        held = unprotect_share(protected.strip(), passphrase)
    except WrongPassphraseError as exc:
        raise DomainError(_("The passphrase does not open this share."),
                          field="passphrase") from exc
    except KeyShareError as exc:
        raise DomainError(_("This is not a readable share: paste the whole CYSHARE1 text."),
                          field="share") from exc
    if held.box_id != box_id or held.scrutineer_id != holder_id:
        raise DomainError(mismatch(), field="share")
    return {"x": held.share.x, "y": format(held.share.y, "x"),
            "signing_key": base64.b64encode(held.signing_key).decode()}


def ceremony_form(form, holders) -> tuple[dict[int, str], int, dict[str, str]]:
    """What a key ceremony's form says: each holder's passphrase (typed twice), and k.

    Returns the passphrases by user id, k (0 when unreadable) and the errors by field."""
    errors: dict[str, str] = {}
    passphrases = {}
    for user in holders:
        first = form.get(f"pass-{user.id}", "")
        if first != form.get(f"again-{user.id}", ""):
            errors[f"pass-{user.id}"] = _("The two passphrases differ.")
        passphrases[user.id] = first
    try:
        k = int(form.get("k", ""))
    except ValueError:
        errors["k"], k = _("Give a whole number."), 0
    return passphrases, k, errors


def held_ceremony(form, holders, hold: Callable[[dict[int, str], int], object]) -> dict[str, str]:
    """Hold a ceremony with what its form says: ``hold(passphrases, k)`` runs when the form
    reads; the errors by field come back (none: the ceremony was held)."""
    passphrases, k, errors = ceremony_form(form, holders)
    if errors:
        return errors
    try:
        hold(passphrases, k)
    except DomainError as err:
        if err.status != 422:
            raise
        return {err.field or "k": err.message}
    return {}


def default_k(holders: int) -> int:
    """The shares a ceremony form proposes: a majority of the holders, at least 2."""
    return max(2, holders // 2 + 1) if holders > 2 else 2
