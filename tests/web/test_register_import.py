"""The register import through the site: upload, preview, confirm or discard, export, access.

Every test answers a committee's question; nothing in a bad file may reach the register.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEntry,
    ImportStatus,
    Ownership,
    Person,
    RegisterImport,
    Role,
    Unit,
)
from app.register.identity import make_id_number, mask_id_number
from tests.unit.test_register_importer import xlsx

DATA = Path(__file__).resolve().parent.parent / "data" / "register"
ID_A = make_id_number("31010419800101001")
ID_B = make_id_number("31010419820202002")
ID_C = make_id_number("31010419850303003")
HEADER = ["楼栋", "房号", "楼层", "建筑面积", "用途", "业主", "电话", "身份证号", "开发商"]
#: Zhang San owns two flats, Li Si and Wang Wu own one together, the developer two units.
FIRST = [
    HEADER,
    ["1栋", "101", 1, 88.5, "住宅", "张三", "13800000001", ID_A, None],
    ["1栋", "102", 1, 120, "住宅", "张三", "13800000001", ID_A, None],
    ["1栋", "103", 1, "95.25", "住宅", "李四、王五", "13800000002", f"{ID_B}、{ID_C}", None],
    ["2栋", "201", 2, 30, "商业", None, None, None, "是"],
    ["2栋", "202", 2, 30, "商业", None, None, None, "是"],
]


@pytest.fixture
def community(make):
    return make.community()


@pytest.fixture
def committee(make, community, login, client):
    user = make.user_with_role(Role.COMMITTEE, community)
    login(user)
    client.get("/?lang=en")  # English messages for the assertions
    return user


@pytest.fixture
def site(client, community, db_session):
    return Site(client, community, db_session)


class Site:
    """The register pages of one community, as the signed-in user sees them."""

    def __init__(self, client, community, db_session):
        self.client, self.c, self.s = client, community, db_session
        self.base = f"/c/{community.id}/register"

    def upload(self, data: bytes, filename: str = "register.xlsx"):
        return self.client.post(f"{self.base}/import", data={"file": (io.BytesIO(data), filename)},
                                content_type="multipart/form-data")

    def last_import(self) -> RegisterImport:
        self.s.expire_all()
        return self.s.scalars(select(RegisterImport).where(
            RegisterImport.community_id == self.c.id).order_by(RegisterImport.id.desc())).first()

    def confirm(self, pending: RegisterImport):
        return self.client.post(f"{self.base}/import/{pending.id}/confirm")

    def discard(self, pending: RegisterImport):
        return self.client.post(f"{self.base}/import/{pending.id}/discard")

    def apply(self, data: bytes, filename: str = "register.xlsx") -> RegisterImport:
        response = self.upload(data, filename)
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
        pending = self.last_import()
        assert self.confirm(pending).status_code == 302
        return pending

    def count(self, model, *where) -> int:
        self.s.expire_all()
        return self.s.scalar(select(func.count()).select_from(model).where(*where))

    def units(self) -> dict[str, Unit]:
        self.s.expire_all()
        rows = self.s.scalars(select(Unit).where(Unit.community_id == self.c.id)).all()
        return {u.label: u for u in rows}

    def owners(self, label: str) -> list[str]:
        unit = self.units()[label]
        return sorted(self.s.scalars(
            select(Person.name).join(Ownership, Ownership.person_id == Person.id)
            .where(Ownership.unit_id == unit.id, Ownership.ended_at.is_(None))).all())

    def actions(self) -> list[str]:
        return list(self.s.scalars(select(AuditEntry.action).where(
            AuditEntry.community_id == self.c.id).order_by(AuditEntry.seq)))


# --- a first import ---------------------------------------------------------------------------


def test_first_import_is_previewed_and_applied_only_on_confirmation(committee, site):
    """Does an upload only show the differences, and the confirmation write them?"""
    response = site.upload(xlsx(FIRST))
    assert response.status_code == 302
    pending = site.last_import()
    assert pending.status is ImportStatus.PENDING
    assert site.count(Unit, Unit.community_id == site.c.id) == 0
    assert ID_A not in str(pending.rows)  # only masked forms and digests are kept
    assert pending.diff["counts"]["units_added"] == 5
    assert pending.diff["counts"]["owners_added"] == 4

    page = site.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "5 units added" in page
    assert 'class="added"' in page
    assert "Confirm and apply" in page

    assert site.confirm(pending).status_code == 302
    units = site.units()
    assert sorted(units) == ["1栋-101", "1栋-102", "1栋-103", "2栋-201", "2栋-202"]
    assert units["1栋-101"].area == Decimal("88.50")
    assert units["2栋-201"].use.value == "commercial"
    assert site.owners("1栋-103") == ["李四", "王五"]
    zhang = site.s.scalars(select(Person).where(Person.name == "张三",
                                                Person.community_id == site.c.id)).one()
    assert zhang.id_number_masked == mask_id_number(ID_A)
    assert zhang.phone == "13800000001"
    assert site.last_import().status is ImportStatus.APPLIED
    assert site.actions() == ["register.import_uploaded", "register.import_applied"]


def test_headcount_counts_an_owner_of_two_units_and_co_owners_once(committee, site):
    """Zhang San (2 flats) 1, Li Si + Wang Wu (1 flat together) 1, the developer 1."""
    site.apply(xlsx(FIRST))
    page = site.client.get(site.base).get_data(as_text=True)
    stats = re.findall(r'<div class="stat">([^<]*)</div>', page)
    assert stats == ["5", "363.75", "3"]
    assert site.last_import().diff["after"]["owners"] == 3


def test_gbk_csv_from_chinese_excel_is_read(committee, site):
    source = (DATA / "register_gbk.csv").read_bytes()
    assert "楼栋".encode("gbk") in source
    response = site.upload(source, "名册.csv")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert site.last_import().diff["counts"]["units_added"] == 3


def test_utf8_csv_with_bom_is_read(committee, site):
    response = site.upload((DATA / "register_utf8.csv").read_bytes(), "register.csv")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert site.last_import().diff["counts"]["units_added"] == 3


# --- bad files --------------------------------------------------------------------------------


def test_a_bad_file_imports_nothing_and_lists_every_problem(committee, site):
    """All or nothing: every problem with its row and column, and no trace in the register."""
    rows = [
        HEADER,
        ["1栋", "101", 1, 88.5, "住宅", "张三", "13800000001", ID_A, None],       # 2: good
        ["1栋", "102", "二", 88.123, "别墅", "李四", "138", None, None],          # 3
        ["1栋", "101", 1, 70, None, "王五", None, None, None],                    # 4: dup
        ["1栋", "104", 1, 70, None, "赵六、钱七", "1、2、3", ID_B, None],          # 5
        ["1栋", "105", 1, 70, None, "孙八", None, ID_A, None],                    # 6
        ["1栋", "106", 1, 70, None, "周九", None, ID_A[:-1] + "0", None],         # 7
        [None, "107", None, None, None, None, None, None, None],                 # 8
    ]
    response = site.upload(xlsx(rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    found = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>',
                       page)
    assert [(int(r), c) for r, c, _m in found] == [
        (3, "楼层"), (3, "建筑面积"), (3, "用途"), (3, "电话"),
        (4, "房号"),
        (5, "电话"), (5, "身份证号"),
        (6, "身份证号"),
        (7, "身份证号"),
        (8, "楼栋"), (8, "楼层"), (8, "建筑面积"), (8, "业主"),
    ]
    messages = {(int(r), c): m for r, c, m in found}
    assert "rows 2 and 4" in messages[(4, "房号")]
    assert "张三" in messages[(6, "身份证号")]
    assert "Nothing was imported" in page
    assert site.count(RegisterImport, RegisterImport.community_id == site.c.id) == 0
    assert site.count(Unit, Unit.community_id == site.c.id) == 0
    assert site.count(Person, Person.community_id == site.c.id) == 0
    assert site.actions() == []


@pytest.mark.parametrize(("filename", "data", "words"), [
    ("register.pdf", b"%PDF-1.4 ...", "Upload an Excel workbook"),
    ("register.xlsx", b"PK\x03\x04garbage", "damaged"),
    ("register.xlsx", b"", "empty"),
    ("register.csv", "楼栋,房号,业主\r\n1,101,张三\r\n".encode(), "Missing columns"),
    ("register.csv", "楼栋,房号,楼层,面积,业主\r\n".encode(), "no units"),
])
def test_unreadable_files_get_a_clear_message_never_a_500(committee, site, filename, data,
                                                          words):
    response = site.upload(data, filename)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    assert site.count(RegisterImport, RegisterImport.community_id == site.c.id) == 0


def test_no_file_chosen_is_said_next_to_the_field(committee, site):
    response = site.client.post(f"{site.base}/import", data={},
                                content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the register file" in response.get_data(as_text=True)


# --- re-imports -------------------------------------------------------------------------------


def test_reimport_shows_the_differences_and_applies_them_on_confirmation(
        committee, site, make, db_session):
    site.apply(xlsx(FIRST))
    zhang = db_session.scalars(select(Person).where(Person.name == "张三",
                                                    Person.community_id == site.c.id)).one()
    zhang.user_id = make.user().id  # Zhang San has activated his account
    db_session.flush()
    second = [
        HEADER,
        ["1栋", "101", 1, 90, "住宅", "张三", "13900000009", ID_A, None],     # area, phone
        ["1栋", "102", 1, 120, "住宅", "赵六", None, None, None],             # new owner
        ["2栋", "201", 2, 30, "商业", None, None, None, "是"],
        ["2栋", "202", 3, 30, "车位", None, None, None, "是"],                # floor, use
        ["3栋", "301", 3, 66.6, "住宅", "张三", None, ID_A, None],            # added
    ]                                                                        # 1栋-103 removed
    assert site.upload(xlsx(second)).status_code == 302
    pending = site.last_import()
    diff = pending.diff
    assert diff["counts"] == {"units_added": 1, "units_changed": 3, "units_removed": 1,
                              "owners_added": 1, "owners_changed": 1, "owners_removed": 2}
    changes = {u["label"]: (u["kind"], {c["field"]: (c["old"], c["new"]) for c in u["changes"]})
               for u in diff["units"]}
    assert changes == {
        "1栋-101": ("changed", {"area": ("88.50", "90.00")}),
        "1栋-102": ("changed", {"owners": ("张三", "赵六")}),
        "2栋-202": ("changed", {"floor": (2, 3), "use": ("commercial", "parking")}),
        "3栋-301": ("added", {}),
        "1栋-103": ("removed", {}),
    }
    owners = {(o["kind"], o["name"]) for o in diff["owners"]}
    assert owners == {("added", "赵六"), ("changed", "张三"), ("removed", "李四"),
                      ("removed", "王五")}
    page = site.client.get(f"{site.base}/import/{pending.id}").get_data(as_text=True)
    assert 'class="changed"' in page
    assert 'class="removed"' in page
    assert "88.50 → 90.00" in page

    # Nothing has changed yet.
    assert site.units()["1栋-101"].area == Decimal("88.50")
    assert site.owners("1栋-103") == ["李四", "王五"]

    assert site.confirm(pending).status_code == 302
    units = site.units()
    assert units["1栋-101"].area == Decimal("90.00")
    assert units["2栋-202"].floor == 3
    assert units["2栋-202"].use.value == "parking"
    assert not units["1栋-103"].active  # kept, inactive
    assert site.owners("1栋-103") == []
    ended = site.count(Ownership, Ownership.unit_id == units["1栋-103"].id,
                       Ownership.ended_at.is_not(None))
    assert ended == 2  # ended, never deleted
    assert site.owners("1栋-102") == ["赵六"]
    assert site.owners("3栋-301") == ["张三"]
    db_session.expire_all()
    assert db_session.get(Person, zhang.id).user_id is not None  # same person, account kept
    assert db_session.get(Person, zhang.id).phone == "13900000009"
    page = site.client.get(site.base).get_data(as_text=True)
    assert re.findall(r'<div class="stat">([^<]*)</div>', page) == ["5", "336.60", "3"]


def test_discard_changes_nothing_and_cannot_be_confirmed_afterwards(committee, site):
    assert site.upload(xlsx(FIRST)).status_code == 302
    pending = site.last_import()
    assert site.discard(pending).status_code == 302
    assert site.last_import().status is ImportStatus.DISCARDED
    assert site.count(Unit, Unit.community_id == site.c.id) == 0
    response = site.confirm(pending)
    assert response.status_code == 409
    assert "already discarded" in response.get_data(as_text=True)
    assert site.actions() == ["register.import_uploaded", "register.import_discarded"]


def test_confirming_twice_is_refused(committee, site):
    pending = site.apply(xlsx(FIRST))
    response = site.confirm(pending)
    assert response.status_code == 409
    assert "already applied" in response.get_data(as_text=True)
    assert site.count(Unit, Unit.community_id == site.c.id) == 5
    assert site.discard(pending).status_code == 409


def test_an_import_made_stale_by_another_is_refused(committee, site):
    """Two files uploaded, one applied: the other was previewed against an old register."""
    assert site.upload(xlsx(FIRST)).status_code == 302
    stale = site.last_import()
    site.apply(xlsx(FIRST[:3]))
    response = site.confirm(stale)
    assert response.status_code == 409
    assert "Upload the file again" in response.get_data(as_text=True)
    assert site.count(Unit, Unit.community_id == site.c.id) == 2


def test_a_masked_id_number_that_matches_nobody_is_a_problem(committee, site):
    site.apply(xlsx(FIRST))
    rows = [HEADER, ["1栋", "101", 1, 88.5, "住宅", "张三", None, mask_id_number(ID_B), None]]
    response = site.upload(xlsx(rows))
    assert response.status_code == 422
    assert "enter the full ID number" in response.get_data(as_text=True)


# --- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh_Hans_CN"])
def test_export_then_reimport_gives_no_difference(committee, site, lang):
    """Can an export be imported again unchanged, ID numbers masked and digests kept?"""
    site.apply(xlsx(FIRST))
    response = site.client.get(f"{site.base}/export.xlsx?lang={lang}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    content = response.get_data()
    book = openpyxl.load_workbook(io.BytesIO(content))
    register, summary = book.worksheets
    cells = [list(row) for row in register.iter_rows(values_only=True)]
    assert len(cells) == 6
    text = str(cells)
    assert ID_A not in text
    assert mask_id_number(ID_A) in text
    assert any("masked" in str(row) or "脱敏" in str(row) or "ID" in str(row)
               for row in summary.iter_rows(values_only=True))
    assert register.cell(1, 8).comment is not None
    site.client.get("/?lang=en")
    assert site.upload(content, "export.xlsx").status_code == 302
    diff = site.last_import().diff
    assert all(n == 0 for n in diff["counts"].values()), diff
    assert diff["units"] == []
    assert diff["owners"] == []
    assert "register.exported" in site.actions()


# --- the register page and access -------------------------------------------------------------


def test_register_page_search_by_owner_and_unit(committee, site):
    site.apply(xlsx(FIRST))
    page = site.client.get(f"{site.base}?q=李四").get_data(as_text=True)
    assert "103" in page
    assert "101</td>" not in page
    assert "1 unit matches" in page
    page = site.client.get(f"{site.base}?q=202").get_data(as_text=True)
    assert "202</td>" in page
    assert "201</td>" not in page
    page = site.client.get(site.base).get_data(as_text=True)
    assert mask_id_number(ID_A) in page
    assert "Not activated" in page


@pytest.mark.parametrize("role", [Role.OWNER, Role.RESIDENT, Role.STAFF, Role.AUDITOR])
def test_only_the_committee_and_admins_may_import(make, community, login, client, role):
    """Can an owner, a resident, staff or an auditor import? (No: 403.)"""
    login(make.user_with_role(role, community))
    assert client.get(f"/c/{community.id}/register/import").status_code == 403
    response = client.post(f"/c/{community.id}/register/import",
                           data={"file": (io.BytesIO(xlsx(FIRST)), "r.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.OWNER, Role.RESIDENT, Role.STAFF])
def test_export_needs_the_export_permission(make, community, login, client, role):
    login(make.user_with_role(role, community))
    assert client.get(f"/c/{community.id}/register/export.xlsx").status_code == 403


def test_another_communitys_import_is_not_found(committee, site, make, community, client):
    """Is an import of community B reachable through community A's URL? (No: 404.)"""
    other = make.community()
    foreign = RegisterImport(community_id=other.id, filename="x.xlsx",
                             uploaded_by_id=committee.id, rows=[],
                             diff={"counts": {}, "units": [], "owners": []})
    site.s.add(foreign)
    site.s.flush()
    base = f"/c/{community.id}/register/import/{foreign.id}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/confirm").status_code == 404
    assert client.post(f"{base}/discard").status_code == 404
    assert client.get(f"/c/{other.id}/register/import/{foreign.id}").status_code == 403
    site.s.expire_all()
    assert site.s.get(RegisterImport, foreign.id).status is ImportStatus.PENDING


def test_the_search_box_escapes_what_it_repeats(committee, site):
    page = site.client.get(f"{site.base}?q=<script>x</script>").get_data(as_text=True)
    assert "<script>x" not in page
    assert "&lt;script&gt;x" in page


def test_owners_keep_their_identity_when_a_later_file_adds_id_numbers(committee, site):
    """A register first imported with names only, then with ID numbers: same persons,
    their ID numbers added, and name + phone joins a new unit to its owner."""
    site.apply(xlsx([
        HEADER,
        ["1栋", "101", 1, 80, None, "王芳", None, None, None],
        ["1栋", "102", 1, 80, None, "王芳", None, None, None],   # the same Wang Fang
        ["1栋", "103", 1, 80, None, "赵六", "13700000006", None, None],
    ]))
    persons = site.count(Person, Person.community_id == site.c.id)
    assert persons == 2
    assert site.upload(xlsx([
        HEADER,
        ["1栋", "101", 1, 80, None, "王芳", None, ID_A, None],
        ["1栋", "102", 1, 80, None, "王芳", None, ID_A, None],
        ["1栋", "103", 1, 80, None, "赵六", "13700000006", None, None],
        ["1栋", "104", 1, 80, None, "赵六", "13700000006", None, None],
    ])).status_code == 302
    diff = site.last_import().diff
    assert diff["counts"] == {"units_added": 1, "units_changed": 0, "units_removed": 0,
                              "owners_added": 0, "owners_changed": 1, "owners_removed": 0}
    assert diff["owners"][0]["changes"] == [
        {"field": "id_number", "old": None, "new": mask_id_number(ID_A)}]
    site.confirm(site.last_import())
    assert site.count(Person, Person.community_id == site.c.id) == 2
    assert site.owners("1栋-104") == ["赵六"]
    wang = site.s.scalars(select(Person).where(Person.name == "王芳",
                                               Person.community_id == site.c.id)).one()
    assert wang.id_number_masked == mask_id_number(ID_A)
