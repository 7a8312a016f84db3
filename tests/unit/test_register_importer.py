"""The register file reader, without a database: does it read what committees actually send,
and does it name every problem with the row and column Excel shows?"""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.register.identity import id_digest, make_id_number, mask_id_number
from app.register.importer import (
    MAX_ROWS,
    parse_area,
    parse_floor,
    parse_register,
    split_list,
    write_workbook,
)

KEY = "unit-test-key"
ID_A = make_id_number("31010419800101001")
ID_B = make_id_number("31010419820202002")
HEADER_ZH = ["楼栋", "房号", "楼层", "建筑面积", "用途", "业主", "电话", "身份证号"]


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    text = "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows)
    return text.encode(encoding)


def problems_of(result):
    return [(p.row, p.column) for p in result.problems]


# --- values ---------------------------------------------------------------------------------


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2))
def test_any_area_with_two_places_round_trips_as_text_and_as_excel_float(area):
    """Does every area with at most 2 places in (0, 100000) survive text and Excel floats?"""
    assert parse_area(str(area)) == area
    assert parse_area(float(area)) == area
    assert str(parse_area(float(area))) == str(area.quantize(Decimal("0.01")))


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3)
       .filter(lambda d: d != d.quantize(Decimal("0.01"))))
def test_an_area_with_three_places_is_refused(area):
    """Is a third decimal place refused, as text and as a float from Excel?"""
    with pytest.raises(ValueError, match="2 decimal places"):
        parse_area(str(area))
    with pytest.raises(ValueError, match="2 decimal places"):
        parse_area(float(area))


@pytest.mark.parametrize(("raw", "expected"), [
    (88.5, "88.50"), (88, "88.00"), ("88.5㎡", "88.50"), (" 1,234.5 ", "1234.50"),
    ("88.500", "88.50"), (88.10000000000001, "88.10"),
])
def test_area_forms_that_are_accepted(raw, expected):
    assert str(parse_area(raw)) == expected


@pytest.mark.parametrize("raw", ["", "abc", "0", "-3", "NaN", "Infinity", "1e9", True, 88.123])
def test_area_forms_that_are_refused(raw):
    with pytest.raises(ValueError):
        parse_area(raw)


@pytest.mark.parametrize(("raw", "expected"), [(3, 3), (3.0, 3), ("12", 12), ("5层", 5),
                                               ("7F", 7), ("B1", -1), ("-2", -2)])
def test_floor_forms(raw, expected):
    assert parse_floor(raw) == expected


@pytest.mark.parametrize("raw", ["3.5", 3.5, "三", "", "999"])
def test_floor_refused(raw):
    with pytest.raises(ValueError):
        parse_floor(raw)


def test_owner_lists_split_on_every_separator():
    assert split_list("张三、李四;王五；赵六，钱七,孙八/周九") == [
        "张三", "李四", "王五", "赵六", "钱七", "孙八", "周九"]
    assert split_list(None) == []


# --- whole files ----------------------------------------------------------------------------


def test_a_good_xlsx_with_co_owners_and_shared_phone():
    data = xlsx([
        HEADER_ZH,
        ["1栋", "101", 1, 88.5, "住宅", "张三、李四", "13800000001", f"{ID_A}、{ID_B}"],
        ["1栋", 102, 1.0, 120, "商业", "王五", None, None],
        ["2栋", "B1-07", "B1", "12.5", "车位", "张三", "", ID_A],
    ])
    result = parse_register("名册.xlsx", data, id_key=KEY)
    assert result.ok, result.problems
    first, second, third = result.rows
    assert first["area"] == "88.50"
    assert first["floor"] == 1
    assert first["use"] == "residential"
    assert [o["phone"] for o in first["owners"]] == ["13800000001", "13800000001"]
    assert first["owners"][0]["id_masked"] == mask_id_number(ID_A)
    assert first["owners"][0]["id_digest"] == id_digest(KEY, ID_A)
    assert ID_A not in repr(result.rows)  # the number itself is never kept
    assert second["unit"] == "102"
    assert second["use"] == "commercial"
    assert third["floor"] == -1
    assert third["use"] == "parking"
    # Zhang San owns 1-101 and 2-B1-07: one identity by ID number.
    assert third["owners"][0]["key"] == first["owners"][0]["key"]


def test_english_headers_in_any_order_with_a_title_row_and_extra_columns():
    data = xlsx([
        ["Oak Garden owners' register"],
        ["Owner", "Note", "AREA (m²)", "Unit", "Building", "Floor"],
        ["Li Si", "x", "70.25", "301", "3", "3"],
    ])
    result = parse_register("register.xlsx", data, id_key=KEY)
    assert result.ok, result.problems
    assert result.rows[0]["row"] == 3
    assert result.rows[0]["building"] == "3"
    assert result.rows[0]["area"] == "70.25"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_in_the_encodings_chinese_excel_writes(encoding):
    data = csv_bytes([HEADER_ZH, ["一号楼", "101", "1", "88.50", "住宅", "张三", "", ""]],
                     encoding)
    result = parse_register("名册.csv", data, id_key=KEY)
    assert result.ok, result.problems
    assert result.rows[0]["building"] == "一号楼"
    assert result.rows[0]["owners"][0]["name"] == "张三"


def test_every_problem_is_reported_with_its_row_and_column():
    data = xlsx([
        HEADER_ZH,
        ["1栋", "101", 1, 88.5, "住宅", "张三", "13800000001", ID_A],       # row 2: good
        ["1栋", "", 1, 88.5, "住宅", "李四", None, None],                    # 3: no unit
        ["1栋", "103", "一", "-5", "别墅", "王五", "12345", "110"],          # 4: four
        ["1栋", "101", 1, 88.123, None, "赵六", None, None],                 # 5: dup + area
        ["1栋", "105", 1, 90, None, "钱七、孙八", "1、2、3", ID_B],           # 6: counts
        ["1栋", "106", 1, 90, None, "周九", None, ID_A],                     # 7: ID, other name
        ["1栋", "107", 1, 90, None, None, None, None],                      # 8: no owner
    ])
    result = parse_register("bad.xlsx", data, id_key=KEY)
    assert not result.ok
    assert result.rows == []
    assert problems_of(result) == [
        (3, "房号"),
        (4, "楼层"), (4, "建筑面积"), (4, "用途"), (4, "电话"), (4, "身份证号"),
        (5, "房号"), (5, "建筑面积"),
        (6, "电话"), (6, "身份证号"),
        (7, "身份证号"),
        (8, "业主"),
    ]
    messages = {(p.row, p.column): p.message for p in result.problems}
    assert "rows 2 and 5" in messages[(5, "房号")]
    assert "2 decimal places" in messages[(5, "建筑面积")]
    assert "张三" in messages[(7, "身份证号")]
    assert "row 2" in messages[(7, "身份证号")]


def test_missing_columns_are_named():
    result = parse_register("x.csv", csv_bytes([["楼栋", "房号", "业主"], ["1", "1", "a"]]),
                            id_key=KEY)
    assert len(result.problems) == 1
    assert "楼层 (floor)" in result.problems[0].message
    assert "专有面积 (area)" in result.problems[0].message


@pytest.mark.parametrize(("filename", "data", "words"), [
    ("x.xlsx", b"", "empty"),
    ("x.csv", "\ufeff\r\n\r\n".encode(), "empty"),
    ("x.csv", csv_bytes([HEADER_ZH]), "no units"),
    ("x.pdf", b"%PDF-1.4", ".xlsx"),
    ("x.xls", b"\xd0\xcf\x11\xe0", ".xls"),
    ("x.xlsx", b"PK\x03\x04 this is not a zip", "damaged"),
    ("x.xlsx", b"just text", "damaged"),
    ("x.csv", xlsx([HEADER_ZH]), "name it .xlsx"),
    ("x.csv", b"\x00\x01\x02abc\x00", "not a text"),
    ("x.csv", b"\xff\xff\xff,\xff", "encoding"),
])
def test_files_that_cannot_be_read_get_one_clear_message(filename, data, words):
    result = parse_register(filename, data, id_key=KEY)
    assert len(result.problems) == 1
    assert result.problems[0].row is None
    assert words in result.problems[0].message


def test_too_many_rows_are_refused():
    rows = [HEADER_ZH] + [["1", str(n), "1", "50", "", f"O{n}", "", ""]
                          for n in range(MAX_ROWS + 1)]
    result = parse_register("big.csv", csv_bytes(rows), id_key=KEY)
    assert len(result.problems) == 1
    assert "20,000" in result.problems[0].message


def test_a_date_that_excel_made_of_a_unit_number_is_explained():
    import datetime as dt

    data = xlsx([HEADER_ZH, ["1栋", dt.datetime(2024, 1, 2), 1, 50, None, "张三", None, None]])
    result = parse_register("x.xlsx", data, id_key=KEY)
    assert problems_of(result) == [(2, "房号")]
    assert "date" in result.problems[0].message


def test_identity_rules_within_a_file():
    """ID first; else name + phone (joining the one ID with that name and phone); a bare name
    is one person only when the name never has an ID number or phone."""
    data = csv_bytes([
        ["楼栋", "房号", "楼层", "面积", "业主", "电话", "身份证号", "开发商"],
        ["1", "1", "1", "50", "张三", "13800000001", ID_A, ""],
        ["1", "2", "1", "50", "张三", "13800000001", "", ""],   # same as row 2 (name+phone)
        ["1", "3", "1", "50", "李四", "", "", ""],
        ["1", "4", "1", "50", "李四", "", "", ""],              # same as row 4 (name only)
        ["1", "5", "1", "50", "王五", "13800000005", "", ""],
        ["1", "6", "1", "50", "王五", "", "", ""],              # not guessed: own person
        ["1", "7", "1", "50", "", "", "", "是"],
        ["1", "8", "1", "50", "", "", "", "是"],                # the developer: one owner
    ])
    result = parse_register("x.csv", data, id_key=KEY)
    assert result.ok, result.problems
    keys = [row["owners"][0]["key"] for row in result.rows]
    assert keys[0] == keys[1]
    assert keys[2] == keys[3]
    assert keys[4] != keys[5]
    assert keys[6] == keys[7] == "dev"
    assert result.rows[6]["owners"][0]["name"] == "开发商"
    assert len(set(keys)) == 5


def test_masked_id_numbers_from_an_export_are_kept_as_references():
    masked = mask_id_number(ID_A)
    data = csv_bytes([HEADER_ZH, ["1", "1", "1", "50", "", "张三", "", masked],
                      ["1", "2", "1", "50", "", "李四", "", "310****1234"]])
    result = parse_register("x.csv", data, id_key=KEY)
    assert problems_of(result) == [(3, "身份证号")]
    ok = parse_register("x.csv", data.rsplit(b"\r\n", 1)[0], id_key=KEY)
    owner = ok.rows[0]["owners"][0]
    assert owner["id_masked"] == masked
    assert owner["id_digest"] is None


def test_written_workbook_reads_back_identically():
    rows = parse_register("x.xlsx", xlsx([
        HEADER_ZH, ["1栋", "0101", 1, 88.5, "商业", "张三、李四", "13800000001、", ""],
    ]), id_key=KEY).rows
    data = write_workbook(rows, chinese=False, summary=[("Units", 1)], notes=["masked"],
                          sheet_names=("Register", "Summary"))
    again = parse_register("export.xlsx", data, id_key=KEY)
    assert again.ok, again.problems
    assert again.rows == rows


def test_a_name_that_looks_like_a_formula_is_written_as_text():
    """Is an owner called "=HYPERLINK(…)" exported as text, never as a formula Excel runs?"""
    rows = parse_register("x.csv", csv_bytes([
        HEADER_ZH, ["1", "1", "1", "50", "", "=1+2", "", ""]]),
        id_key=KEY).rows
    data = write_workbook(rows, chinese=True, summary=[], notes=["n"], sheet_names=("a", "b"))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.cell(2, 6).data_type == "s"
    assert parse_register("x.xlsx", data, id_key=KEY).rows == rows


def test_control_characters_are_dropped():
    rows = parse_register("x.csv", csv_bytes([
        HEADER_ZH, ["1", "1", "1", "50", "", "张\x01三", "", ""]]), id_key=KEY).rows
    assert rows[0]["owners"][0]["name"] == "张三"


def test_row_numbers_count_the_empty_rows_as_excel_does():
    data = xlsx([HEADER_ZH, ["1", "1", 1, 50, None, "张三"], [], ["1", "2", "x", 50, None, "李四"]])
    result = parse_register("x.xlsx", data, id_key=KEY)
    assert problems_of(result) == [(4, "楼层")]
