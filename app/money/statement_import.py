"""A bank or cash statement (流水) as an XLSX file: read it into rows, every problem at once.

Pure: no database. One row per movement under a header row naming the columns in Chinese or
English, in any order: 日期 / date, 摘要 / memo, 科目 / account (the code, or code and name,
or the name), 收入 / income, 支出 / expense (exactly one of the two on each row). Each problem
names the row as Excel shows it (the header is row 1 when it is the first) and the column as the
file names it. ``services`` then checks the accounts and periods and books every row, or none.

Excel keeps numbers as binary floats; a number cell is read through its shortest decimal text
(``str``), so 12.3 stays 12.30 and never becomes 12.2999…; more than two places is a problem.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

import openpyxl
from flask_babel import gettext as _

from ..register.importer import Problem
from .arithmetic import BadAmount, from_fen, to_fen

__all__ = ["ParsedStatement", "Problem", "StatementRow", "parse_statement"]

MAX_ROWS = 5_000
COLUMNS = {
    "date": ("日期", "交易日期", "date"),
    "memo": ("摘要", "说明", "memo", "description"),
    "account": ("科目", "会计科目", "account"),
    "income": ("收入", "收入金额", "贷方", "income"),
    "expense": ("支出", "支出金额", "借方", "expense"),
}
REQUIRED = ("date", "memo", "account")
_ALIASES = {alias.casefold(): key for key, names in COLUMNS.items() for alias in names}
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_ACCOUNT_RE = re.compile(r"^([0-9A-Za-z]{2,20})(\s.*)?$")


@dataclass
class StatementRow:
    row: int
    date: dt.date
    memo: str
    #: The account as written: a code, or a name to look up.
    account: str
    income: Decimal | None
    expense: Decimal | None


@dataclass
class ParsedStatement:
    rows: list[StatementRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Column key → the name the file gives it (for problems found later).
    columns: dict[str, str] = field(default_factory=dict)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = _DATE_RE.match(_text(value))
    if not match:
        raise ValueError
    return dt.date(*(int(g) for g in match.groups()))


def parse_amount(value) -> Decimal | None:
    text = _text(value).replace(",", "").replace("¥", "").replace("￥", "")
    if not text:
        return None
    amount = from_fen(to_fen(text))  # BadAmount for text, floats' excess places, NaN
    if amount <= 0:
        raise BadAmount(text)
    return amount


def account_code(text: str) -> str:
    """``"4001 停车场地收益"`` → ``"4001"``; a bare name stays as it is."""
    match = _ACCOUNT_RE.match(text)
    return match.group(1) if match else text


def parse_statement(data: bytes) -> ParsedStatement:
    """Rows and problems of the first sheet of an XLSX statement."""
    result = ParsedStatement()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        result.problems.append(Problem(None, None, _("The file is not an Excel workbook "
                                                     "(.xlsx).")))
        return result
    sheet = book.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    header, names, number = None, {}, 0
    for number, values in enumerate(lines, start=1):
        keys = {_ALIASES.get(_text(v).casefold()): (i, _text(v)) for i, v in enumerate(values)}
        keys.pop(None, None)
        if "date" in keys and "account" in keys:
            header, names = {k: i for k, (i, _n) in keys.items()}, {
                k: n for k, (_i, n) in keys.items()}
            break
        if number >= 20:
            break
    if header is None:
        result.problems.append(Problem(None, None, _(
            "No header row found: name the columns 日期, 摘要, 科目, 收入 and 支出.")))
        return result
    for key in REQUIRED:
        if key not in header:
            result.problems.append(Problem(number, COLUMNS[key][0],
                                           _("This column is missing.")))
    if "income" not in header and "expense" not in header:
        result.problems.append(Problem(number, COLUMNS["income"][0],
                                       _("Give an income or an expense column.")))
    if result.problems:
        return result
    result.columns = names
    for row_number, values in enumerate(lines, start=number + 1):
        if row_number - number > MAX_ROWS:
            result.problems.append(Problem(row_number, None, _(
                "At most %(n)s rows in one statement.", n=MAX_ROWS)))
            break
        cells = {k: (values[i] if i < len(values) else None) for k, i in header.items()}
        if all(_text(v) == "" for v in cells.values()):
            continue
        _parse_row(result, row_number, cells, names)
    if not result.rows and not result.problems:
        result.problems.append(Problem(None, None, _("The statement has no rows.")))
    return result


def _parse_row(result: ParsedStatement, number: int, cells: dict, names: dict) -> None:
    before = len(result.problems)

    def bad(key: str, message: str) -> None:
        result.problems.append(Problem(number, names.get(key, COLUMNS[key][0]), message))

    try:
        date = parse_date(cells["date"])
    except ValueError:
        bad("date", _("Write the date as 2026-03-05."))
        date = None
    memo = _text(cells["memo"])
    if not memo:
        bad("memo", _("Say what the movement is."))
    elif len(memo) > 200:
        bad("memo", _("At most 200 characters."))
    account = _text(cells["account"])
    if not account:
        bad("account", _("Name the account (its code, e.g. 4001)."))
    amounts, amount_bad = {}, False
    for key in ("income", "expense"):
        try:
            amounts[key] = parse_amount(cells.get(key))
        except BadAmount:
            bad(key, _("An amount in yuan, greater than zero, at most two decimals."))
            amounts[key], amount_bad = None, True
    if not amount_bad and (amounts["income"] is None) == (amounts["expense"] is None):
        bad("income" if "income" in names else "expense",
            _("Fill in exactly one of income and expense."))
    if len(result.problems) == before:
        result.rows.append(StatementRow(number, date, memo, account_code(account),
                                        amounts["income"], amounts["expense"]))
