"""Activation codes: issuing letters, checking a code, creating the owner's account.

Services take the session, the actor and ``now`` as arguments; they flush, never commit, and
raise ``DomainError`` (with the form field it concerns) when a rule refuses. The plain code is
returned once, by ``issue_letters``, to be printed in the same request; only its SHA-256 is
stored.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from ..audit.services import record
from ..auth.services import PHONE_RE, USERNAME_RE, check_password_rules, find_user, hash_password
from ..errors import Conflict, DomainError, NotFound
from ..models import ActivationCode, Building, Community, Ownership, Person, Unit, User
from ..register.identity import id_digest, normalize_phone

#: No 0/O or 1/I: a code copied from paper by hand must not be ambiguous.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: 12 symbols of 32 = 60 bits: guessing one of a few thousand live codes is hopeless, and the
#: activation page is rate-limited besides.
CODE_LENGTH = 12
MAX_DAYS = 365


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str | None) -> str:
    """What the owner typed, without spaces and dashes, in capitals."""
    return re.sub(r"[\s\-‐‑–—_]", "", raw or "").upper()


def format_code(code: str) -> str:
    """``ABCD2345EFGH`` → ``ABCD-2345-EFGH``, as printed on the letter."""
    code = normalize_code(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_digest(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


class Proof(enum.StrEnum):
    """How an owner proves at activation that the letter is theirs."""

    ID_NUMBER = "id_number"
    PHONE = "phone"


def proof_for(person: Person) -> Proof | None:
    """The full ID number when the register has its digest, else the registered phone."""
    if person.id_number_digest:
        return Proof.ID_NUMBER
    if person.phone:
        return Proof.PHONE
    return None


# Issuing -----------------------------------------------------------------------------------


class ScopeKind(enum.StrEnum):
    #: Owners without an account and without a valid code (new owners after a re-import).
    NEW = "new"
    #: Every owner without an account: replaces every earlier unused letter.
    ALL = "all"
    BUILDING = "building"
    #: One unit: the reissue of a lost or expired letter.
    UNIT = "unit"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    building_id: int | None = None
    unit_id: int | None = None


@dataclass(frozen=True)
class OwnerCode:
    """One owner's code on a letter. ``code`` is the plain code: print it, never store it."""

    person_id: int
    owner_name: str
    code: str
    proof: Proof
    #: Last four digits of the registered phone, printed when the phone is the proof.
    phone_tail: str

    @property
    def grouped(self) -> str:
        return format_code(self.code)


@dataclass(frozen=True)
class Letter:
    """One page: a unit and the code of each of its owners without an account."""

    unit_id: int
    unit_label: str
    owners: tuple[OwnerCode, ...]


@dataclass(frozen=True)
class Issued:
    letters: tuple[Letter, ...]
    issued_at: dt.datetime
    expires_at: dt.datetime
    #: The last local day on which the codes work (printed on the letter).
    valid_through: dt.date
    revoked: int
    #: Owners left out because the register holds neither their ID number nor their phone.
    skipped: tuple[str, ...]

    @property
    def code_count(self) -> int:
        return sum(len(letter.owners) for letter in self.letters)

    def codes(self) -> dict[tuple[int, int], str]:
        """Plain codes by (unit id, person id)."""
        return {(lt.unit_id, o.person_id): o.code for lt in self.letters for o in lt.owners}


def natural_key(text: str) -> tuple:
    """Sort "2号楼" before "10号楼" and unit "201" before "1201"."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def unit_label(unit: Unit) -> str:
    return f"{unit.building.name}-{unit.number}"


def owner_rows(
    session: Session, community: Community, *, building_id: int | None = None,
    unit_id: int | None = None,
) -> list[tuple[Unit, Person]]:
    """Current (unit, owner) pairs of active units, sorted as the letters are printed.

    The developer's unsold units get no letter: the developer is a company, its account is
    made by the site admin, and fifty letters to one sales office help nobody.
    """
    stmt = (
        select(Unit, Person)
        .join(Building, Building.id == Unit.building_id)
        .join(Ownership, Ownership.unit_id == Unit.id)
        .join(Person, Person.id == Ownership.person_id)
        .where(Unit.community_id == community.id, Unit.active.is_(True),
               Ownership.ended_at.is_(None), Person.is_developer.is_(False))
        .options(contains_eager(Unit.building))
    )
    if building_id is not None:
        stmt = stmt.where(Unit.building_id == building_id)
    if unit_id is not None:
        stmt = stmt.where(Unit.id == unit_id)
    rows = [(u, p) for u, p in session.execute(stmt).unique().all()]
    rows.sort(key=lambda r: (natural_key(r[0].building.name), natural_key(r[0].number), r[1].id))
    return rows


def live_code_pairs(session: Session, community: Community, now: dt.datetime) -> dict:
    """(unit id, person id) → expiry of every unused, unrevoked, unexpired code."""
    rows = session.execute(
        select(ActivationCode.unit_id, ActivationCode.person_id, ActivationCode.expires_at)
        .where(ActivationCode.community_id == community.id, ActivationCode.used_at.is_(None),
               ActivationCode.revoked_at.is_(None), ActivationCode.expires_at > now)
    ).all()
    return {(u, p): exp for u, p, exp in rows}


def _scoped_rows(session: Session, community: Community, scope: Scope, now: dt.datetime):
    """The (unit, owner) pairs that get a letter, and a label of the scope for the log."""
    if scope.kind is ScopeKind.BUILDING:
        building = session.get(Building, scope.building_id) if scope.building_id else None
        if building is None or building.community_id != community.id:
            raise NotFound(_("No such building in this community."), field="building")
        rows, label = owner_rows(session, community, building_id=building.id), building.name
    elif scope.kind is ScopeKind.UNIT:
        unit = session.get(Unit, scope.unit_id) if scope.unit_id else None
        if unit is None or unit.community_id != community.id or not unit.active:
            raise NotFound(_("No such unit in this community."), field="unit")
        rows, label = owner_rows(session, community, unit_id=unit.id), unit_label(unit)
        if not rows:
            raise DomainError(_("Unit %(unit)s has no owner in the register.", unit=label),
                              field="unit")
        if all(p.user_id is not None for _u, p in rows):
            raise DomainError(
                _("Every owner of unit %(unit)s already has an account.", unit=label),
                field="unit",
            )
    else:
        rows, label = owner_rows(session, community), scope.kind.value
    rows = [(u, p) for u, p in rows if p.user_id is None]
    if scope.kind is ScopeKind.NEW:
        live = live_code_pairs(session, community, now)
        rows = [(u, p) for u, p in rows if (u.id, p.id) not in live]
    return rows, label


def _expiry(now: dt.datetime, days: int, tz: ZoneInfo) -> tuple[dt.datetime, dt.date]:
    """Codes work through the end of the local day ``days`` from today: the printed date is
    exact, whatever time of day the letters were made."""
    valid_through = now.astimezone(tz).date() + dt.timedelta(days=days)
    end = dt.datetime.combine(valid_through + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return end.astimezone(dt.UTC), valid_through


def issue_letters(
    session: Session, *, actor: User, now: dt.datetime, community: Community, scope: Scope,
    days: int, ip: str = "",
) -> Issued:
    """Make a fresh code for each owner without an account in ``scope``.

    Earlier unused codes of the same (unit, owner) are revoked, so only the newest letter
    works. Returns the plain codes (for the PDF of this request) and what was done.
    """
    if not 1 <= days <= MAX_DAYS:
        raise DomainError(_("Codes are valid for 1 to %(n)d days.", n=MAX_DAYS), field="days")
    rows, scope_label = _scoped_rows(session, community, scope, now)
    skipped = tuple(f"{unit_label(u)} {p.name}" for u, p in rows if proof_for(p) is None)
    rows = [(u, p) for u, p in rows if proof_for(p) is not None]
    if not rows:
        raise DomainError(_("No owner here needs a letter: every one has an account or a "
                            "valid code."), field="scope")

    wanted = {(u.id, p.id) for u, p in rows}
    earlier = session.scalars(
        select(ActivationCode).where(
            ActivationCode.community_id == community.id, ActivationCode.used_at.is_(None),
            ActivationCode.revoked_at.is_(None),
        )
    ).all()
    revoked = 0
    for old in earlier:
        if (old.unit_id, old.person_id) in wanted:
            old.revoked_at = now
            revoked += 1

    expires_at, valid_through = _expiry(now, days, ZoneInfo(community.timezone))
    letters: dict[int, tuple[str, list[OwnerCode]]] = {}
    for unit, person in rows:
        plain = new_code()
        session.add(ActivationCode(
            community_id=community.id, unit_id=unit.id, person_id=person.id,
            code_hash=code_digest(plain), created_at=now, expires_at=expires_at,
            issued_by_id=actor.id,
        ))
        letters.setdefault(unit.id, (unit_label(unit), []))[1].append(OwnerCode(
            person_id=person.id, owner_name=person.name, code=plain, proof=proof_for(person),
            phone_tail=normalize_phone(person.phone or "")[-4:],
        ))
    session.flush()
    issued = Issued(
        letters=tuple(Letter(uid, label, tuple(codes)) for uid, (label, codes) in letters.items()),
        issued_at=now, expires_at=expires_at, valid_through=valid_through, revoked=revoked,
        skipped=skipped,
    )
    record(
        session, actor=actor, action="activation.issued", now=now, community_id=community.id,
        target=scope_label[:120],
        details={"scope": scope.kind.value, "building_id": scope.building_id,
                 "unit_id": scope.unit_id, "letters": len(issued.letters),
                 "codes": issued.code_count, "revoked": revoked, "skipped": len(skipped),
                 "days": days, "expires_at": expires_at.isoformat()},
        remote_addr=ip,
    )
    return issued


# Using a code ------------------------------------------------------------------------------


class AlreadyActivated(Conflict):
    """The owner named on the letter has an account already: log in instead."""


def _when(value: dt.datetime, community: Community) -> str:
    """A moment in the community's time zone, in the reader's language."""
    return format_datetime(value, "medium", tzinfo=ZoneInfo(community.timezone),
                           locale=get_locale() or "en")


def check_code(session: Session, *, now: dt.datetime, raw_code: str) -> ActivationCode:
    """The code's row if it can still be used; else a DomainError that says why not."""
    code = normalize_code(raw_code)
    row = None
    if len(code) == CODE_LENGTH and set(code) <= set(ALPHABET):
        row = session.scalar(
            select(ActivationCode).where(ActivationCode.code_hash == code_digest(code))
        )
    if row is None:
        raise DomainError(_("This code is not known. Check it against the letter: 12 letters "
                            "and digits, without 0, O, 1 or I."), field="code")
    community = session.get(Community, row.community_id)
    if row.used_at is not None:
        raise DomainError(_("This code was already used on %(when)s. If that was not you, tell "
                            "your owners' committee at once.", when=_when(row.used_at, community)),
                          field="code")
    if row.person.user_id is not None:
        raise AlreadyActivated(_("%(name)s already has an account. Log in with it.",
                                 name=row.person.name), field="code")
    if row.revoked_at is not None:
        raise DomainError(_("This code was replaced by a newer letter on %(when)s. Use the code "
                            "on the newest letter.", when=_when(row.revoked_at, community)),
                          field="code")
    if not _still_owner(session, row):
        raise DomainError(_("This letter no longer applies: the register shows that %(name)s "
                            "no longer owns unit %(unit)s. Ask your owners' committee.",
                            name=row.person.name, unit=unit_label(row.unit)), field="code")
    if row.expires_at <= now:
        # Codes run out at local midnight: name the last day they worked, as the letter did.
        last_day = (row.expires_at - dt.timedelta(microseconds=1)).astimezone(
            ZoneInfo(community.timezone)).date()
        raise DomainError(_("This code expired at the end of %(day)s. Your owners' committee "
                            "can issue a new letter.",
                            day=format_date(last_day, "medium", locale=get_locale() or "en")),
                          field="code")
    return row


def _still_owner(session: Session, code: ActivationCode) -> bool:
    """A re-import may have ended the ownership (a sale) or removed the unit since the letter
    was printed; the letter of a former owner must not open an account."""
    return code.unit.active and session.scalar(
        select(Ownership.id).where(Ownership.unit_id == code.unit_id,
                                   Ownership.person_id == code.person_id,
                                   Ownership.ended_at.is_(None)).limit(1)
    ) is not None


def verify_identity(person: Person, identity: str, id_hash_key: str) -> Proof:
    """Check the ID number (or the phone) typed against the register; raise when it differs."""
    proof = proof_for(person)
    if proof is None:
        raise DomainError(_("The register has neither an ID number nor a phone number for this "
                            "owner. Ask your committee to complete it and reissue the letter."),
                          field="identity")
    if proof is Proof.ID_NUMBER:
        typed, kept = id_digest(id_hash_key, identity or ""), person.id_number_digest
    else:
        typed, kept = normalize_phone(identity or ""), normalize_phone(person.phone)
    if not (identity or "").strip() or not hmac.compare_digest(typed.encode(), kept.encode()):
        if proof is Proof.ID_NUMBER:
            message = _("This ID number does not match the register for %(name)s.",
                        name=person.name)
        else:
            message = _("This phone number does not match the register for %(name)s.",
                        name=person.name)
        raise DomainError(message, field="identity")
    return proof


def _login_phone(session: Session, raw: str) -> str:
    phone = normalize_phone(raw)
    if not PHONE_RE.fullmatch(phone):
        raise DomainError(_("A mobile number has 11 digits and starts with 1."), field="phone")
    if find_user(session, phone):
        raise Conflict(_("This phone number already belongs to an account. If it is yours, log "
                         "in with it; otherwise use another number."), field="phone")
    return phone


def _username(session: Session, raw: str | None) -> str:
    name = (raw or "").strip()
    if not name:
        # The owner logs in by phone; the username only has to be unique and reveal nothing.
        while find_user(session, name := "owner-" + secrets.token_hex(4)):
            pass
        return name
    if not USERNAME_RE.fullmatch(name):
        raise DomainError(
            _("Usernames use 3–40 letters, digits, dots, dashes or underscores."),
            field="username",
        )
    if name.isdigit():
        raise DomainError(_("A username cannot be only digits: that is what phone numbers "
                            "look like."), field="username")
    if find_user(session, name):
        raise Conflict(_("This username is taken. Choose another, or leave it empty and log "
                         "in with your phone."), field="username")
    return name


@dataclass(frozen=True)
class Activation:
    user: User
    community_id: int
    unit_label: str


def claim_code(session: Session, code: ActivationCode, user: User, now: dt.datetime) -> None:
    """Mark ``code`` used by ``user``, or raise if another request got there first.

    The conditional UPDATE is the guard, not the checks before it: two requests with the same
    code may both pass the checks, but only one UPDATE finds ``used_at IS NULL``.
    """
    result = session.execute(
        update(ActivationCode)
        .where(ActivationCode.id == code.id, ActivationCode.used_at.is_(None),
               ActivationCode.revoked_at.is_(None), ActivationCode.expires_at > now)
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("This code has just been used. If that was not you, tell your owners' "
                         "committee at once."), field="code")
    session.expire(code, ["used_at", "used_by_id"])


def _link_person(session: Session, person: Person, user: User) -> None:
    # Same guard for the person: two letters of one owner (two units) used at once make one
    # account, not two.
    result = session.execute(
        update(Person).where(Person.id == person.id, Person.user_id.is_(None))
        .values(user_id=user.id).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyActivated(_("%(name)s already has an account. Log in with it.",
                                 name=person.name), field="code")
    session.expire(person, ["user_id"])


def activate(
    session: Session, *, now: dt.datetime, raw_code: str, identity: str, phone: str,
    username: str | None, password: str, id_hash_key: str, locale: str | None = None,
    ip: str = "",
) -> Activation:
    """Create the owner's account from a letter's code.

    There is no actor argument: the caller is anonymous until this succeeds, and the account
    made here is the actor of the audit entry. Everything is checked before anything is
    written, so a refusal leaves no trace but the error.
    """
    code = check_code(session, now=now, raw_code=raw_code)
    person = code.person
    proof = verify_identity(person, identity, id_hash_key)
    login_phone = _login_phone(session, phone)
    login_name = _username(session, username)
    check_password_rules(password)
    user = User(username=login_name, phone=login_phone, display_name=person.name[:80],
                password_hash=hash_password(password), locale=locale, created_at=now)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:  # someone took the phone or username a moment ago
        raise Conflict(_("This phone number already belongs to an account. If it is yours, "
                         "log in with it; otherwise use another number."),
                       field="phone") from None
    claim_code(session, code, user, now)
    _link_person(session, person, user)
    label = unit_label(code.unit)
    record(session, actor=user, action="activation.used", now=now,
           community_id=code.community_id, target=label,
           details={"code_id": code.id, "person_id": person.id, "proof": proof.value},
           remote_addr=ip)
    return Activation(user=user, community_id=code.community_id, unit_label=label)
