"""The reader's words for the refusals and blockers of the pure ``tenders`` package.

``tenders`` raises errors (and returns blockers) with an English message, a stable code and
the params to word it; it imports no Flask, so the translation happens here: one table from
code to a translatable text, filled with the params. A code without an entry falls back to
the English message (better a message in English than none).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import tenders

MESSAGES = {
    # The tender file (TenderRules and its parts).
    "criterion_code": _l("Every criterion needs a code (the criterion named %(name)s has none)."),
    "criterion_number": _l("Criterion %(criterion)s: the weight is not a number."),
    "criterion_weight": _l("Criterion %(criterion)s: the weight must be positive, not "
                           "%(weight)s."),
    "criterion_places": _l("Criterion %(criterion)s: weights and scores have at most two "
                           "decimals."),
    "criteria_missing": _l("The tender file needs at least one scored criterion."),
    "criterion_twice": _l("Criterion %(criterion)s appears twice in the tender file."),
    "price_weight_number": _l("The price weight is not a number."),
    "price_weight": _l("The price weight must be positive with at most two decimals, not "
                       "%(weight)s."),
    "weights_total": _l("The weights add up to %(total)s, not %(expected)s: %(parts)s + price "
                        "%(price)s."),
    "factors_missing": _l("The average-price formula needs both factors: n above and n below "
                          "the benchmark."),
    "factors_number": _l("The factors n above and n below must be numbers."),
    "n_below_positive": _l("The factor below the benchmark must be positive, not %(below)s."),
    "n_above_larger": _l("The factor above the benchmark (%(above)s) must be larger than the "
                         "one below it (%(below)s): a bid above the benchmark loses more points "
                         "than one the same distance below it."),
    "minimum_bidders": _l("A tender cannot ask for fewer than %(legal)s bidders (this one asks "
                          "for %(asked)s): Bidding Law, art. 28."),
    "panel_minimum": _l("The evaluation panel needs at least %(minimum)s members, not "
                        "%(size)s."),
    "panel_odd": _l("The evaluation panel has an odd number of members, not %(size)s."),
    "shortlist_size": _l("The shortlist for the owners' meeting has 2 or 3 bids, not "
                         "%(size)s."),
    # Blockers of the panel and the sheets.
    "undeclared": _l("Member %(member)s has not declared conflicts of interest."),
    "even_panel": _l("The active panel has %(count)s members (recused: %(recused)s); it must "
                     "have an odd number: appoint a substitute member, who declares conflicts "
                     "of interest before scoring starts."),
    "panel_too_small": _l("The active panel has %(count)s members (recused: %(recused)s); at "
                          "least %(minimum)s are required: appoint %(missing)s substitute "
                          "members."),
    "panel_size": _l("The active panel has %(count)s members (recused: %(recused)s); the "
                     "tender file sets %(size)s."),
    "sheet_missing": _l("Evaluator %(member)s has not submitted a score sheet."),
    "unresolved_tie": _l("Bids %(bids)s are equal on total, price score, price and submission "
                         "time: the committee must decide their order and record why before the "
                         "shortlist goes to the owners' meeting."),
}


def say(code: str | None, params: Mapping[str, str], fallback: str) -> str:
    """The message for ``code`` in the reader's language, or ``fallback``."""
    template = MESSAGES.get(code or "")
    if template is None:
        return fallback
    values = dict(params)
    if not values.get("recused"):
        values["recused"] = "–"
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return fallback


def error_text(exc: tenders.TenderError) -> str:
    """A domain error in the reader's language."""
    return say(exc.code, exc.params, str(exc))


def blocker_text(blocker: tenders.Blocker | Mapping) -> str:
    """A blocker (a value, or one in a signed record) in the reader's language."""
    if isinstance(blocker, Mapping):
        return say(blocker.get("code"), blocker.get("params") or {}, blocker.get("message", ""))
    return say(blocker.code, blocker.params, blocker.message)


def blocker_texts(blockers) -> str:
    return " ".join(blocker_text(b) for b in blockers)


def not_a_number(text: str) -> str:
    return _("%(text)s is not a number.", text=repr(text))
