"""The owners' register: pending imports, their differences, applying them, the page, the export.

An upload is parsed (``importer``), its owners are matched to the persons of the register, and
the differences are stored with the rows in a pending ``RegisterImport``; nothing else changes
until someone confirms it. Confirming recomputes the same plan from the stored rows and refuses
when the register changed meanwhile (its fingerprint differs), so what was previewed is what is
applied. Nothing is deleted: removed units become inactive and ownerships are ended.

Matching the file's owners (see ``importer`` for identity within the file) to the register:

- an ID number: the person with that digest, else an owner of one of the rows' units of that
  name who has no ID number yet (the ID is added), else a new person;
- a masked ID number (from an export): the person of that name with that mask; none is a
  problem (give the full number) — so an export re-imported keeps every digest;
- otherwise, an owner of the same unit with the same name stays that person; other entries go
  to the person of that name and phone, or (name alone) to the only person of that name without
  an ID number, else to a new person;
- the developer's units go to the register's developer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..audit.services import record
from ..errors import Conflict, DomainError, NotFound
from ..models import (
    Building,
    Community,
    ImportStatus,
    Ownership,
    Person,
    RegisterImport,
    Residency,
    Unit,
    UnitUse,
    User,
)
from .importer import Problem, parse_register, unit_key, write_workbook
from .summary import RegisterSummary, headcount, register_headcount, register_summary

USE_LABELS = {
    "residential": _l("Residential"), "commercial": _l("Commercial"),
    "parking": _l("Parking"), "other": _l("Other"),
}
FIELD_LABELS = {
    "floor": _l("Floor"), "area": _l("Area (m²)"), "use": _l("Use"), "owners": _l("Owners"),
    "name": _l("Name"), "phone": _l("Phone"), "id_number": _l("ID number"),
}


class ImportRejected(DomainError):
    """The file has problems; ``problems`` lists every one of them. Nothing was imported."""

    code = "register_file_rejected"

    def __init__(self, problems: list[Problem]):
        if len(problems) == 1 and problems[0].row is None:  # the file as a whole: say it
            super().__init__(problems[0].message)
            self.problems: list[Problem] = []
            return
        super().__init__(ngettext("The file was not imported: %(num)s problem.",
                                  "The file was not imported: %(num)s problems.", len(problems)))
        self.problems = problems


# --- the register as it stands -------------------------------------------------------------


@dataclass
class RegisterState:
    """Units (by building and unit key), current ownerships and persons of one community."""

    community: Community
    buildings: dict[str, Building]
    units: dict[tuple[str, str], Unit]
    ownerships: dict[int, list[Ownership]]
    persons: dict[int, Person]
    by_name: dict[str, list[Person]] = field(default_factory=dict)

    def __post_init__(self):
        for person in self.persons.values():
            self.by_name.setdefault(person.name, []).append(person)

    def owners_of(self, unit: Unit | None) -> list[Person]:
        return [o.person for o in self.ownerships.get(unit.id, [])] if unit else []

    def fingerprint(self) -> str:
        """A hash of everything a plan depends on: equal fingerprints give equal plans."""
        units = sorted(
            (u.building.name, u.number, u.floor, str(u.area), u.use.value, u.active,
             sorted(p.id for p in self.owners_of(u)))
            for u in self.units.values()
        )
        persons = sorted(
            (p.id, p.name, p.phone, p.id_number_digest, p.id_number_masked, p.is_developer)
            for p in self.persons.values()
        )
        blob = json.dumps([units, persons], ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def load_state(session: Session, community: Community) -> RegisterState:
    buildings = session.scalars(
        select(Building).where(Building.community_id == community.id)
    ).all()
    units = session.scalars(select(Unit).where(Unit.community_id == community.id)).all()
    persons = session.scalars(select(Person).where(Person.community_id == community.id)).all()
    ownerships: dict[int, list[Ownership]] = defaultdict(list)
    for ownership in session.scalars(
        select(Ownership).join(Unit, Unit.id == Ownership.unit_id)
        .where(Unit.community_id == community.id, Ownership.ended_at.is_(None))
        .order_by(Ownership.id)
    ):
        ownerships[ownership.unit_id].append(ownership)
    return RegisterState(
        community,
        {unit_key(b.name): b for b in buildings},
        {(unit_key(u.building.name), unit_key(u.number)): u for u in units},
        ownerships,
        {p.id: p for p in persons},
    )


# --- matching owners to persons ------------------------------------------------------------


@dataclass
class Plan:
    """What applying the rows would do: a person ref per owner entry (``p:<id>`` for a person
    of the register, ``k:<key>`` for a new one), the new persons, the updates, the diff."""

    rows: list[dict]
    refs: list[list[str]] = field(default_factory=list)
    new_persons: dict[str, dict] = field(default_factory=dict)
    updates: dict[int, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    diff: dict = field(default_factory=dict)


def _prefer(candidates, unit_ids: set[int], state: RegisterState) -> Person | None:
    """Of several persons, one who owns one of ``unit_ids``, else one with an account."""
    owning = {o.person_id for uid in unit_ids for o in state.ownerships.get(uid, [])}
    ranked = sorted(candidates, key=lambda p: (p.id not in owning, p.user_id is None, p.id))
    return ranked[0] if ranked else None


def make_plan(rows: list[dict], state: RegisterState, columns: dict | None = None) -> Plan:
    """Match every owner entry, then compute the differences (``Plan.diff``).

    ``columns`` names the file's columns in problems (``ParsedRegister.columns``).
    """
    plan = Plan(rows)
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r, row in enumerate(rows):
        plan.refs.append([""] * len(row["owners"]))
        for o, owner in enumerate(row["owners"]):
            groups[owner["key"]].append((r, o))
    unit_of = [state.units.get((unit_key(r["building"]), unit_key(r["unit"]))) for r in rows]
    by_digest = {p.id_number_digest: p for p in state.persons.values() if p.id_number_digest}
    claimed: set[int] = set()  # persons given an ID number by this file
    order = sorted(groups, key=lambda k: (not k.startswith(("dev", "id:", "mask:")), k))
    for key in order:
        entries = groups[key]
        first = rows[entries[0][0]]["owners"][entries[0][1]]
        unit_ids = {unit_of[r].id for r, _o in entries if unit_of[r]}
        kind = key.split(":", 1)[0]
        person: Person | None = None
        per_entry: dict[tuple[int, int], Person] = {}
        if kind == "dev":
            person = _prefer([p for p in state.persons.values() if p.is_developer], unit_ids,
                             state)
        elif kind == "id":
            person = by_digest.get(first["id_digest"]) or next(
                (p for r, _o in entries for p in state.owners_of(unit_of[r])
                 if p.name == first["name"] and not p.id_number_digest and p.id not in claimed),
                None,
            )
            if person is not None:
                claimed.add(person.id)
        elif kind == "mask":
            person = _prefer([p for p in state.by_name.get(first["name"], [])
                              if p.id_number_masked == first["id_masked"]], unit_ids, state)
            if person is None:
                plan.problems.extend(
                    Problem(rows[r]["row"], (columns or {}).get("id_number"), _(
                        "%(name)s: the masked ID number %(mask)s is not this owner's in the "
                        "register; enter the full ID number", name=first["name"],
                        mask=first["id_masked"]))
                    for r, _o in entries
                )
                continue
        else:  # name + phone, or name alone: the unit's own owner first
            for r, o in entries:
                same = [p for p in state.owners_of(unit_of[r]) if p.name == first["name"]]
                if same:
                    per_entry[(r, o)] = same[0]
            matched = {p.id: p for p in per_entry.values()}
            if len(matched) == 1:
                person = next(iter(matched.values()))
            elif kind == "np":
                person = _prefer([p for p in state.by_name.get(first["name"], [])
                                  if p.phone == first["phone"]], unit_ids, state)
            elif "#" not in key:
                named = [p for p in state.by_name.get(first["name"], [])
                         if not p.id_number_digest]
                person = named[0] if len(named) == 1 else None
        for r, o in entries:
            chosen = per_entry.get((r, o), person)
            plan.refs[r][o] = f"p:{chosen.id}" if chosen else f"k:{key}"
            owner = rows[r]["owners"][o]
            if chosen:
                _note_updates(plan, chosen, owner, kind)
            elif f"k:{key}" not in plan.new_persons:
                plan.new_persons[f"k:{key}"] = dict(owner)
            elif owner["phone"] and not plan.new_persons[f"k:{key}"]["phone"]:
                plan.new_persons[f"k:{key}"]["phone"] = owner["phone"]
    if not plan.problems:
        plan.diff = _diff(plan, state, unit_of)
    return plan


def _note_updates(plan: Plan, person: Person, owner: dict, kind: str) -> None:
    """Details the file gives a person of the register: a new phone, an ID number, a name."""
    changes = plan.updates.setdefault(person.id, {})
    if owner["phone"] and owner["phone"] != person.phone and "phone" not in changes:
        changes["phone"] = owner["phone"]
    if kind == "id" and person.id_number_digest is None:
        changes["id_number"] = (owner["id_masked"], owner["id_digest"])
    if kind in ("id", "dev") and owner["name"] != person.name and "name" not in changes:
        changes["name"] = owner["name"]
    if not changes:
        del plan.updates[person.id]


# --- the differences -----------------------------------------------------------------------


def _diff(plan: Plan, state: RegisterState, unit_of: list[Unit | None]) -> dict:
    """Added, changed and removed units and owners, as JSON for the preview."""
    def name_of(ref: str) -> str:
        if ref.startswith("k:"):
            return plan.new_persons[ref]["name"]
        pid = int(ref[2:])
        return plan.updates.get(pid, {}).get("name", state.persons[pid].name)

    units, seen = [], set()
    labels: dict[str, list[str]] = defaultdict(list)
    for row, unit, refs in zip(plan.rows, unit_of, plan.refs):
        label = f"{row['building']}-{row['unit']}"
        for ref in refs:
            labels[ref].append(label)
        new_owners = "、".join(name_of(ref) for ref in refs)
        line = {"label": label, "floor": row["floor"], "area": row["area"], "use": row["use"],
                "owners": new_owners, "changes": []}
        if unit is None or not unit.active:
            units.append({**line, "kind": "added", "reactivated": unit is not None})
            continue
        seen.add(unit.id)
        old_refs = {f"p:{p.id}" for p in state.owners_of(unit)}
        for name, old, new in (("floor", unit.floor, row["floor"]),
                               ("area", str(unit.area), row["area"]),
                               ("use", unit.use.value, row["use"])):
            if old != new:
                line["changes"].append({"field": name, "old": old, "new": new})
        if old_refs != set(refs):
            old = "、".join(p.name for p in state.owners_of(unit))
            line["changes"].append({"field": "owners", "old": old, "new": new_owners})
        if line["changes"]:
            units.append({**line, "kind": "changed"})
    before: dict[str, list[str]] = defaultdict(list)
    for unit in sorted(state.units.values(), key=lambda u: (u.building.name, u.number)):
        if not unit.active:
            continue
        for person in state.owners_of(unit):
            before[f"p:{person.id}"].append(unit.label)
        if unit.id not in seen:
            units.append({"kind": "removed", "label": unit.label, "floor": unit.floor,
                          "area": str(unit.area), "use": unit.use.value, "changes": [],
                          "owners": "、".join(p.name for p in state.owners_of(unit))})
    owners = []
    for ref in labels:
        person = state.persons.get(int(ref[2:])) if ref.startswith("p:") else None
        info = plan.new_persons[ref] if person is None else {
            "name": person.name, "phone": person.phone, "id_masked": person.id_number_masked}
        line = {"name": name_of(ref), "phone": info["phone"], "id_masked": info["id_masked"],
                "units": ", ".join(labels[ref]), "changes": []}
        if ref not in before:
            owners.append({**line, "kind": "added"})
        elif person.id in plan.updates:
            for name, new in plan.updates[person.id].items():
                old = {"name": person.name, "phone": person.phone,
                       "id_number": person.id_number_masked}[name]
                new = new[0] if name == "id_number" else new
                line["changes"].append({"field": name, "old": old, "new": new})
            owners.append({**line, "kind": "changed"})
    for ref in sorted(before.keys() - labels.keys(), key=lambda r: int(r[2:])):
        person = state.persons[int(ref[2:])]
        owners.append({"kind": "removed", "name": person.name, "phone": person.phone,
                       "id_masked": person.id_number_masked, "units": ", ".join(before[ref]),
                       "changes": []})
    counts = {f"{what}_{kind}": sum(1 for x in items if x["kind"] == kind)
              for what, items in (("units", units), ("owners", owners))
              for kind in ("added", "changed", "removed")}
    active = [u for u in state.units.values() if u.active]
    owners_before = headcount(
        (u.id, u.area, [p.id for p in state.owners_of(u)],
         any(p.is_developer for p in state.owners_of(u))) for u in active)
    owners_after = headcount(
        (i, Decimal(row["area"]), refs, row["developer"])
        for i, (row, refs) in enumerate(zip(plan.rows, plan.refs)))
    return {
        "fingerprint": state.fingerprint(),
        "counts": counts,
        "before": {"units": len(active), "area": str(sum((u.area for u in active), Decimal(0))),
                   "owners": owners_before},
        "after": {"units": len(plan.rows), "owners": owners_after,
                  "area": str(sum((Decimal(r["area"]) for r in plan.rows), Decimal(0)))},
        "units": units,
        "owners": sorted(owners, key=lambda x: ("added", "changed", "removed").index(x["kind"])),
    }


# --- the import's life: upload, confirm, discard -------------------------------------------


def upload_import(session: Session, *, actor: User, now: dt.datetime, community: Community,
                  filename: str, data: bytes, id_key: str, ip: str = "") -> RegisterImport:
    """Check a register file and keep it as a pending import with its differences.

    Raises ``ImportRejected`` (every problem listed) when anything is wrong: all or nothing.
    """
    parsed = parse_register(filename, data, id_key=id_key)
    if parsed.problems:
        raise ImportRejected(parsed.problems)
    plan = make_plan(parsed.rows, load_state(session, community), parsed.columns)
    if plan.problems:
        raise ImportRejected(plan.problems)
    pending = RegisterImport(
        community_id=community.id, filename=filename[:200], uploaded_by_id=actor.id,
        created_at=now, status=ImportStatus.PENDING, rows=parsed.rows, diff=plan.diff,
    )
    session.add(pending)
    session.flush()
    record(session, actor=actor, action="register.import_uploaded", now=now,
           community_id=community.id, target=f"import {pending.id}",
           details={"file": filename[:200], "rows": len(parsed.rows), **plan.diff["counts"]},
           remote_addr=ip)
    return pending


def get_import(session: Session, community: Community, import_id: int) -> RegisterImport:
    """The import ``import_id`` of ``community`` (404 for another community's)."""
    found = session.get(RegisterImport, import_id)
    if found is None or found.community_id != community.id:
        raise NotFound(_("This import does not exist."))
    return found


def _lock_pending(session: Session, community: Community, pending: RegisterImport) -> None:
    """Serialise confirmations of one community; refuse an import already decided."""
    session.scalar(select(Community.id).where(Community.id == community.id).with_for_update())
    session.refresh(pending, with_for_update=True)
    if pending.status is not ImportStatus.PENDING:
        raise Conflict(_("This import was already %(status)s; upload the file again to make "
                         "new changes.", status=_status_label(pending.status)))


def _status_label(status: ImportStatus) -> str:
    return _("applied") if status is ImportStatus.APPLIED else _("discarded")


def confirm_import(session: Session, *, actor: User, now: dt.datetime, community: Community,
                   pending: RegisterImport, ip: str = "") -> dict:
    """Apply a pending import in the current transaction; returns the counts."""
    _lock_pending(session, community, pending)
    state = load_state(session, community)
    if state.fingerprint() != pending.diff.get("fingerprint"):
        raise Conflict(_("The register changed since this file was uploaded (another import "
                         "was applied). Upload the file again to see the new differences."))
    plan = make_plan(pending.rows, state)
    _apply(session, plan, state, now)
    pending.status, pending.applied_at = ImportStatus.APPLIED, now
    counts = plan.diff["counts"]
    record(session, actor=actor, action="register.import_applied", now=now,
           community_id=community.id, target=f"import {pending.id}", details=counts,
           remote_addr=ip)
    return counts


def discard_import(session: Session, *, actor: User, now: dt.datetime, community: Community,
                   pending: RegisterImport, ip: str = "") -> None:
    _lock_pending(session, community, pending)
    pending.status = ImportStatus.DISCARDED
    record(session, actor=actor, action="register.import_discarded", now=now,
           community_id=community.id, target=f"import {pending.id}", remote_addr=ip)


def _apply(session: Session, plan: Plan, state: RegisterState, now: dt.datetime) -> None:
    community = state.community
    for row in plan.rows:
        if unit_key(row["building"]) not in state.buildings:
            building = Building(community_id=community.id, name=row["building"])
            session.add(building)
            state.buildings[unit_key(row["building"])] = building
    persons = {f"p:{pid}": person for pid, person in state.persons.items()}
    for ref, attrs in plan.new_persons.items():
        persons[ref] = Person(
            community_id=community.id, name=attrs["name"], phone=attrs["phone"],
            id_number_masked=attrs["id_masked"], id_number_digest=attrs["id_digest"],
            is_developer=attrs["developer"], created_at=now)
        session.add(persons[ref])
    for pid, changes in plan.updates.items():
        person = state.persons[pid]
        person.name = changes.get("name", person.name)
        person.phone = changes.get("phone", person.phone)
        if "id_number" in changes:
            person.id_number_masked, person.id_number_digest = changes["id_number"]
    session.flush()
    row_units = []
    for row in plan.rows:
        unit = state.units.get((unit_key(row["building"]), unit_key(row["unit"])))
        if unit is None:
            unit = Unit(community_id=community.id, number=row["unit"],
                        building_id=state.buildings[unit_key(row["building"])].id)
            session.add(unit)
        unit.floor, unit.area, unit.use = row["floor"], Decimal(row["area"]), UnitUse(row["use"])
        unit.active = True
        row_units.append(unit)
    session.flush()  # once for all new units: a flush per row would be quadratic
    kept = {unit.id for unit in row_units}
    for unit, refs in zip(row_units, plan.refs):
        wanted = {persons[ref].id for ref in refs}
        for ownership in state.ownerships.get(unit.id, []):
            if ownership.person_id not in wanted:
                ownership.ended_at = now
        held = {o.person_id for o in state.ownerships.get(unit.id, [])}
        session.add_all(Ownership(unit_id=unit.id, person_id=pid, started_at=now)
                        for pid in sorted(wanted - held))
    removed = [u for u in state.units.values() if u.active and u.id not in kept]
    for unit in removed:
        unit.active = False
        for ownership in state.ownerships.get(unit.id, []):
            ownership.ended_at = now
    if removed:  # nobody lives in a unit that is no longer in the register
        for residency in session.scalars(select(Residency).where(
                Residency.unit_id.in_([u.id for u in removed]), Residency.ended_at.is_(None))):
            residency.ended_at = now
    session.flush()


# --- the register page and the export ------------------------------------------------------


@dataclass(frozen=True)
class RegisterPage:
    #: (building name, units) in order; each unit with its current owners.
    buildings: list[tuple[str, list[tuple[Unit, list[Person]]]]]
    matching: int
    page: int
    pages: int
    summary: RegisterSummary
    #: By the electorate's rule (``headcount``), which the summary's count of persons is not.
    headcount: int


def register_page(session: Session, community: Community, *, query: str = "", page: int = 1,
                  per_page: int = 200) -> RegisterPage:
    """One page of the active units, grouped by building, optionally searched by unit or owner."""
    where = [Unit.community_id == community.id, Unit.active.is_(True)]
    if query := query.strip():
        like = "%" + query.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        owned_by = (select(Ownership.unit_id).join(Person, Person.id == Ownership.person_id)
                    .where(Ownership.ended_at.is_(None), Person.name.ilike(like, escape="\\")))
        where.append(or_(Unit.number.ilike(like, escape="\\"),
                         Building.name.ilike(like, escape="\\"), Unit.id.in_(owned_by)))
    base = select(Unit).join(Building, Building.id == Unit.building_id).where(*where)
    matching = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max((matching + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    units = session.scalars(
        base.order_by(func.length(Building.name), Building.name, Unit.floor,
                      func.length(Unit.number), Unit.number)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    owners = _current_owners(session, [u.id for u in units])
    grouped: dict[str, list] = {}
    for unit in units:
        grouped.setdefault(unit.building.name, []).append((unit, owners.get(unit.id, [])))
    return RegisterPage(list(grouped.items()), matching, page, pages,
                        register_summary(session, community),
                        register_headcount(session, community))


def _current_owners(session: Session, unit_ids: list[int]) -> dict[int, list[Person]]:
    owners: dict[int, list[Person]] = defaultdict(list)
    if unit_ids:
        for unit_id, person in session.execute(
            select(Ownership.unit_id, Person).join(Person, Person.id == Ownership.person_id)
            .where(Ownership.unit_id.in_(unit_ids), Ownership.ended_at.is_(None))
            .order_by(Ownership.id)
        ):
            owners[unit_id].append(person)
    return owners


def export_register(session: Session, *, actor: User, now: dt.datetime, community: Community,
                    chinese: bool, ip: str = "") -> bytes:
    """The register as XLSX, in the import's layout (re-importable), ID numbers masked."""
    state = load_state(session, community)
    active = sorted((u for u in state.units.values() if u.active),
                    key=lambda u: (len(u.building.name), u.building.name, u.floor,
                                   len(u.number), u.number))
    rows = [{
        "building": u.building.name, "unit": u.number, "floor": u.floor, "area": str(u.area),
        "use": u.use.value, "developer": any(p.is_developer for p in state.owners_of(u)),
        "owners": [{"name": p.name, "phone": p.phone, "id_masked": p.id_number_masked}
                   for p in state.owners_of(u)],
    } for u in active]
    summary = register_summary(session, community)
    content = write_workbook(
        rows, chinese=chinese, sheet_names=(_("Register"), _("Summary")),
        summary=[(_("Community"), community.name), (_("Exported at (UTC)"),
                  now.strftime("%Y-%m-%d %H:%M")), (_("Buildings"), summary.buildings),
                 (_("Units"), summary.units), (_("Total exclusive area (m²)"),
                  summary.total_area), (_("Owners (headcount)"),
                  register_headcount(session, community))],
        notes=[_("ID numbers are masked. When you re-import this file, an unchanged masked "
                 "number keeps the ID number already in the register; type the full number "
                 "only to add or correct one.")],
    )
    record(session, actor=actor, action="register.exported", now=now,
           community_id=community.id, target=community.name,
           details={"units": len(rows)}, remote_addr=ip)
    return content


def recent_imports(session: Session, community: Community, limit: int = 10):
    """The latest imports of ``community``, newest first (pending ones can be resumed)."""
    return session.scalars(
        select(RegisterImport).where(RegisterImport.community_id == community.id)
        .order_by(RegisterImport.id.desc()).limit(limit)
    ).all()
