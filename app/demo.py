"""The demo community: three buildings, 240 units, owners, residents and one account per role.

``flask --app app demo`` builds it once; running it again keeps the data. Names, areas and ID
numbers are made up but realistic (valid check digits), and drawn from a fixed seed so every
newcomer sees the same community.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import click
import pyotp
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth.services import hash_password
from .config import INSTANCE, ROOT
from .models import (
    Building,
    Community,
    Office,
    Ownership,
    Person,
    Residency,
    ResidencyKind,
    Role,
    RoleGrant,
    Unit,
    UnitUse,
    User,
    utcnow,
)
from .register.identity import id_digest, make_id_number, mask_id_number

DEMO_COMMUNITY = "梧桐苑"
#: Where the demo keeps the one activation code it prints (codes are stored hashed).
DEMO_HINT = INSTANCE / "demo-activation.txt"
DEMO_PASSWORD = "courtyard-demo"  # noqa: S105 - printed for the demo on purpose
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰志红文斌晓峰海燕春梅云飞宇辉鹏"
#: Floor plans of a typical tower: four flats a floor, areas in m² as registered.
FLAT_TYPES = (Decimal("68.42"), Decimal("89.15"), Decimal("112.37"), Decimal("135.80"))

#: (username, display name, role, phone): one demo account per role.
DEMO_ACCOUNTS = (
    ("chair", "周建国 (主任)", Role.CHAIR, "13900000001"),
    ("committee", "林晓峰 (委员)", Role.COMMITTEE, "13900000002"),
    ("scrutineer1", "何玉兰 (监票人)", Role.SCRUTINEER, "13900000003"),
    ("scrutineer2", "郭志红 (监票人)", Role.SCRUTINEER, "13900000004"),
    ("scrutineer3", "罗文斌 (计票人)", Role.SCRUTINEER, "13900000005"),
    ("evaluator", "宋海燕 (评标专家)", Role.EVALUATOR, "13900000006"),
    ("staff", "唐春梅 (物业客服)", Role.STAFF, "13900000007"),
    ("auditor", "韩云飞 (社区居委会)", Role.AUDITOR, "13900000008"),
)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def _id_number(rng: random.Random) -> str:
    year = rng.randint(1950, 1995)
    birth = f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    return make_id_number(f"310104{birth}{rng.randint(0, 999):03d}")


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(str(rng.randint(0, 9)) for _ in range(9))


def demo_exists(session: Session) -> bool:
    found = session.scalar(select(Community.id).where(Community.name == DEMO_COMMUNITY))
    return found is not None


def build_demo(session: Session, *, force: bool = False) -> bool:
    """Build the demo community unless it exists; True when built."""
    if demo_exists(session) and not force:
        return False
    rng = random.Random(20261123)
    now = utcnow()
    key = current_app.config["ID_HASH_KEY"]
    office = session.scalar(select(Office).where(Office.name == "天林街道社区居委会"))
    if office is None:
        office = Office(name="天林街道社区居委会", district="徐汇区")
    community = Community(
        name=DEMO_COMMUNITY, address="上海市徐汇区桂林路 88 弄", district="徐汇区", office=office,
        settings={"proxy_cap": 3, "notice_days": 15, "non_voter_policy": "not_counted"},
        created_at=now,
    )
    session.add(community)
    session.flush()

    raw_ids: dict[Person, str] = {}

    def person(name: str | None = None, *, developer: bool = False) -> Person:
        number = _id_number(rng)
        p = Person(
            community_id=community.id, name=name or _name(rng), phone=_phone(rng),
            id_number_masked=None if developer else mask_id_number(number),
            id_number_digest=None if developer else id_digest(key, number),
            is_developer=developer, created_at=now,
        )
        session.add(p)
        raw_ids[p] = number
        return p

    developer = person("上海梧桐置业有限公司", developer=True)
    units: list[Unit] = []
    for b in range(1, 4):
        building = Building(community_id=community.id, name=f"{b}号楼")
        session.add(building)
        session.flush()
        for floor in range(1, 21):
            for flat, area in enumerate(FLAT_TYPES, start=1):
                use = UnitUse.COMMERCIAL if floor == 1 and flat == 1 else UnitUse.RESIDENTIAL
                unit = Unit(
                    community_id=community.id, building_id=building.id,
                    number=f"{floor}{flat:02d}", floor=floor,
                    area=area + Decimal(rng.randint(-30, 30)) / 100, use=use,
                )
                session.add(unit)
                units.append(unit)
    session.flush()

    multi_owners: list[Person] = []
    for i, unit in enumerate(units):
        if i % 47 == 46:  # a few unsold flats: the developer counts as one owner for all
            owners = [developer]
        elif i % 23 == 5 and multi_owners:  # some owners hold a second flat
            owners = [multi_owners.pop()]
        elif i % 9 == 3:  # co-owned flats (spouses)
            owners = [person(), person()]
        else:
            owners = [person()]
            if i % 23 == 0:
                multi_owners.append(owners[0])
        session.flush()
        for owner in owners:
            session.add(Ownership(unit_id=unit.id, person_id=owner.id, started_at=now))
        if i % 16 == 7:  # tenants
            tenant = person()
            session.flush()
            session.add(Residency(unit_id=unit.id, person_id=tenant.id,
                                  kind=ResidencyKind.TENANT, started_at=now))
    session.flush()

    _demo_accounts(session, community, units, now)
    _second_community(session, office, now, rng, key)
    _sample_letter(session, community, units[2], raw_ids, now)
    from .elections_web.demo import add_demo_election
    # The first committee's election, six years ago: its term is over, and the committee demo
    # (below) seats the serving committee, elected at the change of term.
    add_demo_election(session, community, now - dt.timedelta(days=6 * 365),
                      INSTANCE / "demo-election-bundle.zip")
    from .meetings.demo import add_demo_meetings
    add_demo_meetings(session, community, now, INSTANCE / "demo-bundle.zip")
    from .service.demo import add_demo_service
    add_demo_service(session, community, now)
    from .money.demo import add_demo_money
    add_demo_money(session, community, now)
    from .alarms.demo import add_demo_alarms
    add_demo_alarms(session, community, now)
    from .tenders_web.demo import add_demo_tenders
    add_demo_tenders(session, community, now, INSTANCE / "demo-tender-bundle.json")
    from .committee.demo import add_demo_committee
    add_demo_committee(session, community, now)
    return True


def _sample_letter(session: Session, community: Community, unit: Unit, raw_ids, now) -> None:
    """Issue one real activation letter so a newcomer can try /activate, and keep its hint.

    The code exists only on paper (it is stored hashed), so the hint is written once to
    ``instance/demo-activation.txt`` at build time.
    """
    from .activation.services import Scope, ScopeKind, issue_letters

    chair = session.scalar(select(User).where(User.username == "chair"))
    issued = issue_letters(session, actor=chair, now=now, community=community,
                           scope=Scope(ScopeKind.UNIT, unit_id=unit.id), days=60)
    letter = issued.letters[0]
    owner = letter.owners[0]
    person = session.get(Person, owner.person_id)
    DEMO_HINT.parent.mkdir(parents=True, exist_ok=True)
    DEMO_HINT.write_text(
        f"Try an owner's first login: open /activate?code={owner.code}\n"
        f"  unit {letter.unit_label}, owner {owner.owner_name}, "
        f"ID number {raw_ids[person]}\n",
        encoding="utf-8",
    )


def _account(session: Session, username: str, display: str, phone: str | None, now,
             *, totp: bool = False, admin: bool = False) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=display, phone=phone,
                    password_hash=hash_password(DEMO_PASSWORD), is_demo=True,
                    is_site_admin=admin, created_at=now)
        if totp:
            user.totp_secret, user.totp_enabled = pyotp.random_base32(), True
        session.add(user)
        session.flush()
    return user


def _demo_accounts(session: Session, community: Community, units: list[Unit], now) -> None:
    # An owner of two flats, already activated (the owner's login).
    owner_person = session.scalar(
        select(Person).join(Ownership).where(Ownership.unit_id == units[0].id)
    )
    owner = _account(session, "owner", owner_person.name, owner_person.phone, now)
    owner_person.user_id = owner.id
    tenant_person = session.scalar(
        select(Person).join(Residency, Residency.person_id == Person.id)
        .where(Residency.unit_id.in_([u.id for u in units])).limit(1)
    )
    resident = _account(session, "resident", tenant_person.name, tenant_person.phone, now)
    tenant_person.user_id = resident.id
    _account(session, "admin", "站点管理员", None, now, totp=True, admin=True)
    for username, display, role, phone in DEMO_ACCOUNTS:
        user = _account(session, username, display, phone, now,
                        totp=role in (Role.CHAIR, Role.COMMITTEE, Role.SCRUTINEER))
        scope = ({"office_id": community.office_id} if role is Role.AUDITOR
                 else {"community_id": community.id})
        session.add(RoleGrant(user_id=user.id, role=role, granted_at=now, **scope))
    session.flush()


def _second_community(session: Session, office: Office, now, rng, key) -> None:
    """A small neighbour under the same office: the auditor sees both, others only theirs."""
    if session.scalar(select(Community.id).where(Community.name == "银杏里")):
        return
    other = Community(name="银杏里", address="上海市徐汇区钦州路 300 弄", district="徐汇区",
                      office=office, settings={}, created_at=now)
    session.add(other)
    session.flush()
    building = Building(community_id=other.id, name="1号楼")
    session.add(building)
    session.flush()
    for floor in range(1, 7):
        for flat in (1, 2):
            unit = Unit(community_id=other.id, building_id=building.id,
                        number=f"{floor}{flat:02d}", floor=floor,
                        area=Decimal("76.20") + flat * 10)
            number = _id_number(rng)
            p = Person(community_id=other.id, name=_name(rng), phone=_phone(rng),
                       id_number_masked=mask_id_number(number),
                       id_number_digest=id_digest(key, number), created_at=now)
            session.add_all([unit, p])
            session.flush()
            session.add(Ownership(unit_id=unit.id, person_id=p.id, started_at=now))
    session.flush()


def print_logins(session: Session) -> None:
    """Print one login per role, with how to get the TOTP code where the role needs one."""
    users = session.scalars(select(User).where(User.is_demo).order_by(User.id)).all()
    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD})")
    click.echo(f"  {'login':<13} {'name':<22} TOTP")
    for user in users:
        totp = "yes: flask --app app totp-now " + user.username if user.totp_enabled else ""
        click.echo(f"  {user.username:<13} {user.display_name:<22} {totp}")
    click.echo("  Accounts with TOTP: add the key to an authenticator app, or print the current")
    click.echo("  code with the command shown (demo accounts only).")
    if DEMO_HINT.exists():
        click.echo("")
        click.echo(DEMO_HINT.read_text(encoding="utf-8").rstrip())
    bundle = INSTANCE / "demo-bundle.zip"
    if bundle.exists():
        shown = bundle.relative_to(ROOT) if bundle.is_relative_to(ROOT) else bundle
        click.echo(f"Verify a finished vote offline: .venv/bin/python -m elections.verify {shown}")
    election_bundle = INSTANCE / "demo-election-bundle.zip"
    if election_bundle.exists():
        shown = (election_bundle.relative_to(ROOT) if election_bundle.is_relative_to(ROOT)
                 else election_bundle)
        click.echo(f"Verify the committee election offline: .venv/bin/python -m elections.verify "
                   f"{shown}")
    from .meetings.demo import DEMO_PASSPHRASES

    click.echo("Scrutineers' passphrases for the open vote's opening (demo only): "
               + ", ".join(f"{name}: {phrase!r}" for name, phrase in DEMO_PASSPHRASES.items()))
    from .tenders_web.demo import DEMO_EVALUATOR_PASSPHRASE, DEMO_TENDER_PASSPHRASES

    tender_bundle = INSTANCE / "demo-tender-bundle.json"
    if tender_bundle.exists():
        shown = (tender_bundle.relative_to(ROOT) if tender_bundle.is_relative_to(ROOT)
                 else tender_bundle)
        click.echo(f"Verify the evaluated tender offline: .venv/bin/python -m tenders.verify "
                   f"{shown}")

    click.echo("Committee's passphrases for opening a tender (demo only): "
               + ", ".join(f"{name}: {phrase!r}"
                           for name, phrase in DEMO_TENDER_PASSPHRASES.items()))
    click.echo(f"Evaluators' signing passphrase (demo only): {DEMO_EVALUATOR_PASSPHRASE!r}")
    click.echo("")
