"""Importing a statement: every row checked against the books, then all booked or none."""

from __future__ import annotations

import datetime as dt
import hashlib

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import DomainError
from ..models import AccountKind, Community, Ledger, User
from .arithmetic import from_fen, to_fen
from .ledger import BANK, Line, accounts_of, closed_period_on, post_entry
from .statement_import import Problem, parse_statement

MAX_BYTES = 5 * 1024 * 1024


class ImportRejected(DomainError):
    """The file has problems; nothing was booked. ``problems`` lists each with row and column."""

    def __init__(self, problems: list[Problem]):
        super().__init__(_("Nothing was imported: the file has problems."), field="file")
        self.problems = problems


def import_statement(session: Session, *, actor: User, now: dt.datetime, community: Community,
                     filename: str, data: bytes) -> int:
    """Book every row of an XLSX statement against the bank account; returns how many."""
    if not filename.lower().endswith(".xlsx"):
        raise ImportRejected([Problem(None, None, _("Upload an Excel workbook (.xlsx)."))])
    if len(data) > MAX_BYTES:
        raise ImportRejected([Problem(None, None, _("The file is too large."))])
    parsed = parse_statement(data)
    problems = list(parsed.problems)
    accounts = {a.code: a for a in accounts_of(session, community, Ledger.OPERATING)}
    by_name = {a.name: a for a in accounts.values()}
    column = parsed.columns.get
    booked = []
    for row in parsed.rows:
        account = accounts.get(row.account) or by_name.get(row.account)
        wanted = AccountKind.INCOME if row.income is not None else AccountKind.EXPENSE
        if account is None:
            problems.append(Problem(row.row, column("account"),
                                    _("No account %(code)s in the chart.", code=row.account)))
            continue
        if account.kind is not wanted or account.code == BANK:
            message = (_("Account %(code)s is not an income account.", code=account.code)
                       if wanted is AccountKind.INCOME else
                       _("Account %(code)s is not an expense account.", code=account.code))
            problems.append(Problem(row.row, column("account"), message))
            continue
        period = closed_period_on(session, community, row.date)
        if period is not None:
            problems.append(Problem(row.row, column("date"), _(
                "The period %(start)s – %(end)s is closed.",
                start=period.starts_on.isoformat(), end=period.ends_on.isoformat())))
            continue
        booked.append((row, account))
    if problems:
        raise ImportRejected(problems)
    digest = hashlib.sha256(data).hexdigest()[:12]
    total_in = total_out = 0
    for row, account in booked:
        amount = row.income if row.income is not None else row.expense
        lines = ([Line(BANK, debit=amount), Line(account.code, credit=amount)]
                 if row.income is not None else
                 [Line(account.code, debit=amount), Line(BANK, credit=amount)])
        post_entry(session, actor=actor, now=now, community=community, ledger=Ledger.OPERATING,
                   entry_date=row.date, memo=row.memo, lines=lines, source=f"import:{digest}",
                   audit=False)
        if row.income is not None:
            total_in += to_fen(amount)
        else:
            total_out += to_fen(amount)
    record(session, actor=actor, action="money.statement_imported", now=now,
           community_id=community.id, target=f"import:{digest}",
           details={"filename": filename[:120], "rows": len(booked),
                    "income": str(from_fen(total_in)), "expense": str(from_fen(total_out))})
    return len(booked)
