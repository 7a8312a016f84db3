"""The register file (业主名册): read an XLSX or CSV file into normalised rows, write one back.

Pure: no database and no Flask app (messages go through Flask-Babel, which falls back to the
English text outside a request). ``parse_register`` returns every problem of the file at once,
each with its row number as Excel shows it (the header is row 1) and the column as the file
names it, so a committee member can fix them all in one pass.

The format: one row per unit, a header row naming the columns in Chinese or English, in any
order (see ``COLUMNS``; other columns are ignored). Owners of a co-owned unit are separated by
、 ; ， , or /, and phones and ID numbers follow the owners' order (one phone may be shared).
ID numbers never leave this module in clear: a row keeps the masked form and the HMAC digest.
A masked value (as an export writes it, e.g. ``310***********1234``) is kept as a reference
that the register resolves to the person who already has that mask.

Identity of an owner within one file (``key`` of each owner):

1. the developer (开发商 column) is one owner, whatever rows its unsold units are on;
2. an ID number identifies the person: the same digest on several rows is one person
   (two different names for one ID number is a problem); a masked ID number counts the same;
3. without an ID number, name + phone: the same person as any other entry of that name and
   phone, including the one entry that gave an ID number with that name and phone;
4. a name alone is one person across the file only when no row gives that name an ID number
   or a phone; otherwise each such entry is a person of its own (we do not guess).

The register (``services``) then matches these people to the persons it already holds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import openpyxl
from flask_babel import gettext as _
from openpyxl.comments import Comment
from openpyxl.styles import Font

from .identity import (
    id_digest,
    id_number_problem,
    mask_id_number,
    normalize_id_number,
    normalize_phone,
    phone_problem,
)

MAX_ROWS = 20_000
#: A sheet formatted far below its data ends after this many empty rows in a row.
MAX_EMPTY_RUN = 1_000
AREA_MAX = Decimal("100000")
CENT = Decimal("0.01")
DEVELOPER_NAME = "开发商"
SEPARATORS = re.compile(r"[、;；，,/]")
_MASKED_RE = re.compile(r"^\d{3}\*{11}\d{3}[\dX]$")
_AREA_SUFFIX = re.compile(r"(㎡|m²|m2|平方米|平米)$", re.IGNORECASE)
_FLOOR_RE = re.compile(r"^(-?\d{1,3})\s*(层|楼|F)?$", re.IGNORECASE)
_BASEMENT_RE = re.compile(r"^B(\d{1,2})$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_YES = {"是", "yes", "y", "1", "true", "√", "✓", "x"}
_NO = {"", "否", "no", "n", "0", "false"}
USES = {
    "residential": ("住宅", "住房", "residential", "residence", "home"),
    "commercial": ("商业", "商铺", "商用", "commercial", "shop"),
    "parking": ("车位", "车库", "停车位", "parking", "garage"),
    "other": ("其他", "其它", "other"),
}
USE_NAMES_ZH = {key: names[0] for key, names in USES.items()}
_USE_ALIASES = {alias.casefold(): key for key, names in USES.items() for alias in names}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    aliases: tuple[str, ...]
    required: bool


#: The columns, in the order an export writes them.
COLUMNS = (
    Column("building", "楼栋", "building", ("楼栋", "楼号", "栋号", "栋", "幢", "楼宇"), True),
    Column("unit", "房号", "unit", ("房号", "房间号", "室号", "门牌号", "户号", "room"), True),
    Column("floor", "楼层", "floor", ("楼层", "层", "所在楼层"), True),
    Column("area", "专有面积", "area", ("建筑面积", "专有面积", "面积", "exclusive area"), True),
    Column("use", "用途", "use", ("用途", "房屋用途", "usage"), False),
    Column("owner", "业主", "owner", ("业主", "业主姓名", "姓名", "产权人", "owners", "name"),
           True),
    Column("phone", "电话", "phone", ("电话", "手机", "手机号", "联系电话", "mobile"), False),
    Column("id_number", "身份证号", "id_number",
           ("身份证号", "身份证", "身份证号码", "证件号码", "id number", "id"), False),
    Column("developer", "开发商", "developer", ("开发商", "开发商未售", "unsold"), False),
)
_BY_KEY = {c.key: c for c in COLUMNS}


def _header_key(text: str) -> str:
    """A header as compared: case, spaces, underscores and a unit in brackets do not matter."""
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", str(text)).casefold()
    return re.sub(r"[\s_\-*:：]", "", text)


_ALIASES = {_header_key(a): c.key for c in COLUMNS for a in (c.zh, c.en, *c.aliases)}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (row, column as named in the file) and what."""

    row: int | None
    column: str | None
    message: str


@dataclass
class ParsedRegister:
    """Normalised rows (JSON-ready dicts, see ``_parse_row``) and every problem found."""

    rows: list[dict]
    problems: list[Problem]
    #: Column key → the header as the file wrote it (to name columns in later problems).
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class _FileProblem(Exception):
    """The file as a whole cannot be read: nothing row by row to report."""


# --- reading cells ---------------------------------------------------------------------------


def _text(value) -> str:
    """A cell as text: numbers without a spurious ``.0``, full-width spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    # Control characters cannot be written back to an XLSX (and are never meant).
    return re.sub(r"\s+", " ", _CONTROL.sub("", str(value)).replace("\u3000", " ")).strip()


def parse_area(value) -> Decimal:
    """The exclusive area in m², exact to 0.01; ``ValueError`` with the reason otherwise.

    Excel keeps 15 significant digits, so a float is read through that many: 88.5 is 88.50,
    and a formula's 88.10000000000001 is 88.10, but a typed 88.123 keeps its third place.
    """
    if isinstance(value, bool | dt.date | dt.time):
        raise ValueError(_("must be a number of square metres"))
    if isinstance(value, float):
        number = Decimal(format(value, ".15g")) if math.isfinite(value) else Decimal("NaN")
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        text = _AREA_SUFFIX.sub("", _text(value).replace(",", "")).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("must be a number of square metres")) from None
    if not number.is_finite():
        raise ValueError(_("must be a number of square metres"))
    if number <= 0:
        raise ValueError(_("must be greater than 0"))
    if number >= AREA_MAX:
        raise ValueError(_("must be less than 100,000 m²"))
    if number != number.quantize(CENT):
        raise ValueError(_("has more than 2 decimal places"))
    return number.quantize(CENT)


def parse_floor(value) -> int:
    """A floor number: an integer, ``3层``/``3F``, or a basement as ``B1`` (= -1)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = _text(value)
        if match := _FLOOR_RE.fullmatch(text):
            number = int(match.group(1))
        elif match := _BASEMENT_RE.fullmatch(text):
            number = -int(match.group(1))
        else:
            raise ValueError(_("must be a whole number (B1 for the first basement)"))
    if not -20 <= number <= 300:
        raise ValueError(_("must be between -20 and 300"))
    return number


def parse_use(value) -> str:
    text = _text(value).casefold()
    if not text:
        return "residential"
    if text in _USE_ALIASES:
        return _USE_ALIASES[text]
    raise ValueError(_("unknown use; write 住宅, 商业, 车位 or 其他"))


def parse_flag(value) -> bool:
    text = _text(value).casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(_("write 是 (yes) or leave it empty"))


def split_list(value) -> list[str]:
    """A cell holding several values (owners, phones, ID numbers), in order; [] when empty."""
    text = _text(value)
    return [part.strip() for part in SEPARATORS.split(text)] if text else []


def _id_message(problem: str) -> str:
    """``identity.id_number_problem`` answers in English; say the same through Babel."""
    if problem.startswith("check character"):
        return _("the check character does not match (a digit was mistyped?)")
    return _("must be 17 digits followed by a digit or X")


# --- the file --------------------------------------------------------------------------------


def parse_register(filename: str, data: bytes, *, id_key: str) -> ParsedRegister:
    """Read a whole register file; ``rows`` is meaningful only when there is no problem."""
    try:
        lines = _read_lines(filename, data)
        header_row, columns, header_problems = _find_header(lines)
    except _FileProblem as err:
        return ParsedRegister([], [Problem(None, None, str(err))])
    if header_problems:
        return ParsedRegister([], header_problems)
    names = {key: name for key, (_i, name) in columns.items()}
    rows, problems, empty_run = [], [], 0
    for number, values in lines:
        if number <= header_row:
            continue
        cells = {key: (values[i] if i < len(values) else None) for key, (i, _n) in columns.items()}
        if all(_text(v) == "" for v in cells.values()):
            empty_run += 1
            if empty_run >= MAX_EMPTY_RUN:
                break
            continue
        empty_run = 0
        if len(rows) >= MAX_ROWS:
            return ParsedRegister([], [Problem(None, None, _(
                "The file has more than %(max)s units; split it by building.", max=f"{MAX_ROWS:,}"
            ))])
        row, row_problems = _parse_row(number, cells, names, id_key)
        rows.append(row)
        problems.extend(row_problems)
    if not rows:
        return ParsedRegister([], [Problem(None, None, _("The file has a header but no units."))])
    problems.extend(_cross_row_problems(rows, names))
    if problems:
        problems.sort(key=lambda p: (p.row or 0, list(_BY_KEY).index(_key_of(p.column, names))))
        return ParsedRegister([], problems)
    assign_identities(rows)
    return ParsedRegister(rows, [], names)


def _key_of(column: str | None, names: dict[str, str]) -> str:
    return next((k for k, n in names.items() if n == column), "building")


def _read_lines(filename: str, data: bytes) -> list[tuple[int, tuple]]:
    """(Excel row number, cell values) of the first sheet, or of the CSV's records."""
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    if not data.strip():
        raise _FileProblem(_("The file is empty."))
    if suffix == "xlsx":
        return _xlsx_lines(data)
    if suffix == "csv":
        return _csv_lines(data)
    if suffix == "xls":
        raise _FileProblem(_("Old Excel files (.xls) cannot be read: save it as .xlsx."))
    raise _FileProblem(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))


def _xlsx_lines(data: bytes) -> list[tuple[int, tuple]]:
    damaged = _("This file cannot be read as an Excel workbook (.xlsx); it may be damaged.")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) on a corrupt file
        raise _FileProblem(damaged) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers declare a wrong size; read what is there
        lines, empty_run = [], 0
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1):
            empty_run = 0 if any(v not in (None, "") for v in values) else empty_run + 1
            # Past the last row a sheet may be formatted down to row 1,048,576; and a file
            # with too many rows is refused anyway, so reading on would only take time.
            if empty_run >= MAX_EMPTY_RUN or len(lines) > MAX_ROWS + 20:
                break
            if not empty_run:
                lines.append((number, values))
        return lines
    except Exception:
        raise _FileProblem(damaged) from None
    finally:
        book.close()


def _csv_lines(data: bytes) -> list[tuple[int, tuple]]:
    if data.startswith(b"PK\x03\x04"):
        raise _FileProblem(_("This is an Excel workbook: name it .xlsx, not .csv."))
    text = _decode(data)
    if "\x00" in text:
        raise _FileProblem(_("This file is not a text CSV file."))
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise _FileProblem(_("This CSV file is malformed (check its quotes).")) from None
    return [(number, tuple(record)) for number, record in enumerate(records, 1)]


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"), else GB18030 (GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _FileProblem(_("The CSV file's text encoding is unknown: save it as CSV UTF-8."))


def _find_header(lines) -> tuple[int, dict[str, tuple[int, str]], list[Problem]]:
    """The header row (the first one naming building and unit, among the first ten
    non-empty rows, so that a title row above it is fine) and where each column is."""
    candidates = [(n, v) for n, v in lines if any(_text(x) for x in v)][:10]
    if not candidates:
        raise _FileProblem(_("The file is empty."))
    chosen = candidates[0]
    for number, values in candidates:
        keys = {_ALIASES.get(_header_key(_text(v))) for v in values}
        if {"building", "unit"} <= keys:
            chosen = (number, values)
            break
    number, values = chosen
    columns: dict[str, tuple[int, str]] = {}
    problems = []
    for index, value in enumerate(values):
        name = _text(value)
        key = _ALIASES.get(_header_key(name)) if name else None
        if key is None:
            continue
        if key in columns:
            problems.append(Problem(number, name, _(
                "The columns %(a)s and %(b)s both give the %(what)s; keep one.",
                a=columns[key][1], b=name, what=_BY_KEY[key].zh,
            )))
            continue
        columns[key] = (index, name)
    missing = [f"{c.zh} ({c.en})" for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        problems.append(Problem(number, None, _(
            "Missing columns: %(names)s. Row %(row)s should name them.",
            names=", ".join(missing), row=number,
        )))
    return number, columns, problems


# --- one row ---------------------------------------------------------------------------------


def _parse_row(number: int, cells: dict, names: dict[str, str], id_key: str):
    """One unit: ``{row, building, unit, floor, area, use, developer, owners: [...]}``."""
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(number, names.get(key, _BY_KEY[key].zh), message))

    def field(key: str, parser, default=None):
        raw = cells.get(key)
        if key in ("building", "unit", "floor") and isinstance(raw, dt.date | dt.time):
            bad(key, _("Excel turned this into a date: format the column as text, retype it"))
            return default
        if _BY_KEY[key].required and _text(raw) == "":
            bad(key, _("is required"))
            return default
        try:
            return parser(raw)
        except ValueError as err:
            bad(key, str(err))
            return default

    row = {
        "row": number,
        "building": field("building", lambda v: _bounded(_text(v), 80)),
        "unit": field("unit", lambda v: _bounded(_text(v), 40)),
        "floor": field("floor", parse_floor),
        "area": field("area", lambda v: str(parse_area(v))),
        "use": field("use", parse_use, "residential"),
        "developer": field("developer", parse_flag, False),
    }
    row["owners"] = _owners(cells, row["developer"], id_key, bad)
    return row, problems


def _bounded(text: str, limit: int) -> str:
    if len(text) > limit:
        raise ValueError(_("is too long (at most %(n)s characters)", n=limit))
    return text


def _owners(cells: dict, developer: bool, id_key: str, bad) -> list[dict]:
    """The owners of one unit, each ``{name, phone, id_masked, id_digest, developer}``."""
    names = split_list(cells.get("owner"))
    phones = [normalize_phone(p) for p in split_list(cells.get("phone"))]
    raw_ids = cells.get("id_number")
    ids = [normalize_id_number(i) for i in split_list(raw_ids)]
    if developer:
        if len(names) > 1:
            bad("owner", _("a developer's unsold unit has one owner, the developer"))
        if ids:
            bad("id_number", _("leave the ID number empty for the developer's units"))
        return [{"name": (names or [DEVELOPER_NAME])[0], "phone": (phones or [None])[0],
                 "id_masked": None, "id_digest": None, "developer": True}]
    if not names:
        bad("owner", _("is required"))
        return []
    if any(not n for n in names):
        bad("owner", _("an owner's name is empty (check the separators)"))
    if any(len(n) > 80 for n in names):
        bad("owner", _("is too long (at most %(n)s characters)", n=80))
    if len(phones) == 1 and len(names) > 1:
        phones = phones * len(names)  # one phone shared by the co-owners
    if phones and len(phones) != len(names):
        bad("phone", _("%(p)s phone numbers for %(n)s owners: give one each, one shared, or "
                       "none", p=len(phones), n=len(names)))
        phones = []
    if ids and len(ids) != len(names):
        bad("id_number", _("%(i)s ID numbers for %(n)s owners: give one each or none",
                           i=len(ids), n=len(names)))
        ids = []
    owners = []
    for index, name in enumerate(names):
        phone = phones[index] if phones else ""
        if phone and phone_problem(phone):
            bad("phone", _("%(phone)s: must be an 11-digit mobile number or a landline such as "
                           "021-12345678", phone=phone))
        owner = {"name": name, "phone": phone or None, "id_masked": None, "id_digest": None,
                 "developer": False}
        number = ids[index] if ids else ""
        if "*" in number:
            if not _MASKED_RE.fullmatch(number):
                bad("id_number", _("%(v)s: a masked ID number keeps the first 3 and last 4 "
                                   "characters", v=number))
            owner["id_masked"] = number
        elif number:
            if why := id_number_problem(number):
                hint = _(" (stored as a number? format the column as text)") if isinstance(
                    raw_ids, int | float) else ""
                bad("id_number", _id_message(why) + hint)
            else:
                owner["id_masked"] = mask_id_number(number)
                owner["id_digest"] = id_digest(id_key, number)
        owners.append(owner)
    seen = [(o["id_digest"] or o["id_masked"] or "", o["name"]) for o in owners]
    if len(set(seen)) != len(seen):
        bad("owner", _("the same owner is listed twice for this unit"))
    return owners


def _cross_row_problems(rows: list[dict], names: dict[str, str]) -> list[Problem]:
    """Problems between rows: a unit given twice, one ID number under two names."""
    problems = []
    first_row: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["building"] and row["unit"]:
            key = (unit_key(row["building"]), unit_key(row["unit"]))
            if key in first_row:
                problems.append(Problem(row["row"], names["unit"], _(
                    "unit %(label)s is given twice, in rows %(a)s and %(b)s",
                    label=f"{row['building']}-{row['unit']}", a=first_row[key], b=row["row"],
                )))
            else:
                first_row[key] = row["row"]
    named: dict[str, tuple[str, int]] = {}
    developer: tuple[str, int] | None = None
    for row in rows:
        for owner in row["owners"]:
            if owner["developer"]:
                if developer and developer[0] != owner["name"]:
                    problems.append(Problem(row["row"], names.get("owner"), _(
                        "the developer is named %(a)s in row %(r)s and %(b)s here",
                        a=developer[0], r=developer[1], b=owner["name"])))
                developer = developer or (owner["name"], row["row"])
            digest = owner["id_digest"]
            if digest and digest in named and named[digest][0] != owner["name"]:
                problems.append(Problem(row["row"], names.get("id_number"), _(
                    "this ID number is given for %(a)s in row %(r)s and for %(b)s here",
                    a=named[digest][0], r=named[digest][1], b=owner["name"])))
            elif digest:
                named.setdefault(digest, (owner["name"], row["row"]))
    return problems


def unit_key(text: str) -> str:
    """Building names and unit numbers compare without case and spaces."""
    return re.sub(r"\s", "", text).casefold()


def assign_identities(rows: list[dict]) -> None:
    """Give each owner entry its in-file identity ``key`` (the rules in the module docstring)."""
    with_id: dict[tuple[str, str], set[str]] = defaultdict(set)
    names_with_more: set[str] = set()
    for row in rows:
        for owner in row["owners"]:
            if owner["developer"]:
                owner["key"] = "dev"
            elif owner["id_digest"]:
                owner["key"] = "id:" + owner["id_digest"]
            elif owner["id_masked"]:
                owner["key"] = f"mask:{owner['name']}|{owner['id_masked']}"
            if owner["id_masked"] or owner["phone"]:
                names_with_more.add(owner["name"])
            if "key" in owner and owner["phone"]:
                with_id[(owner["name"], owner["phone"])].add(owner["key"])
    for row in rows:
        for owner in row["owners"]:
            if "key" in owner:
                continue
            name, phone = owner["name"], owner["phone"]
            if phone:
                keys = with_id.get((name, phone), set())
                owner["key"] = next(iter(keys)) if len(keys) == 1 else f"np:{name}|{phone}"
            elif name in names_with_more:
                owner["key"] = f"n:{name}#{row['row']}"
            else:
                owner["key"] = f"n:{name}"


# --- writing ---------------------------------------------------------------------------------


def write_workbook(units: list[dict], *, chinese: bool, summary: list[tuple[str, object]],
                   notes: list[str], sheet_names: tuple[str, str]) -> bytes:
    """An XLSX in the import's column layout; ``units`` as ``parse_register`` rows, with
    owners' ``id_masked`` only. A second sheet holds ``summary`` (label, value) and ``notes``.
    """
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_names[0]
    sheet.append([c.zh if chinese else c.en for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.cell(1, 8).comment = Comment("\n".join(notes), "Courtyard", height=160, width=320)
    sheet.freeze_panes = "A2"
    for number, unit in enumerate(units, 2):
        owners = unit["owners"]
        phones = [o["phone"] or "" for o in owners]
        ids = [o["id_masked"] or "" for o in owners]
        sheet.append([
            unit["building"], unit["unit"], unit["floor"], Decimal(unit["area"]),
            USE_NAMES_ZH[unit["use"]] if chinese else unit["use"],
            "、".join(o["name"] for o in owners),
            "、".join(phones) if any(phones) else None,
            "、".join(ids) if any(ids) else None,
            ("是" if chinese else "yes") if unit["developer"] else None,
        ])
        for column in range(1, len(COLUMNS) + 1):  # (sheet[number] rescans: quadratic)
            cell = sheet.cell(number, column)
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a name is text, never a formula that Excel would run
        sheet.cell(number, 4).number_format = "0.00"
    for letter, width in zip("ABCDEFGHI", (10, 10, 7, 11, 9, 22, 28, 44, 8)):
        sheet.column_dimensions[letter].width = width
    info = book.create_sheet(sheet_names[1])
    for label, value in summary:
        info.append([label, value])
    info.append([])
    for note in notes:
        info.append([note])
    info.column_dimensions["A"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
