"""The demo community's tenders, run through the real services: one evaluated (bids opened,
panel scored, report signed) and one taking bids now."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from elections import seal_ballot

from ..auth.services import hash_password
from ..models import Community, KeyPurpose, User
from . import decision, opening, panel, services

#: The key holders' passphrases (printed by ``make demo`` so a tender can be opened).
DEMO_TENDER_PASSPHRASES = {"chair": "wutong tender chair", "committee": "wutong tender committee"}
#: Every demo evaluator's own signing passphrase (printed by ``make demo``).
DEMO_EVALUATOR_PASSPHRASE = "wutong evaluator key"  # noqa: S105 - a public demo value
CRITERIA = (
    "plan | 服务方案 | 30 | 物业服务方案的完整性、针对性与可行性\n"
    "staff | 人员配置 | 20 | 项目经理资历、持证上岗人员比例\n"
    "record | 业绩信誉 | 10 | 近三年同类住宅项目业绩与业主满意度\n"
    "response | 应急响应 | 10 | 应急预案与到场时间承诺"
)
SCOPE = "小区全部公共部位、共用设施设备的维修养护，保洁、绿化、秩序维护与车辆管理。"
COMPANIES = (
    ("上海梧桐物业服务有限公司", "1270000.00"), ("上海安居物业管理有限公司", "1198000.00"),
    ("上海徐汇城市物业有限公司", "1315000.00"), ("上海绿洲物业服务有限公司", "1245500.00"),
    ("上海申城物业管理有限公司", "1180000.00"),
)
#: Each evaluator's leaning per company index: added to a base score of each criterion.
LEANING = ((2, 0, -1, 1, -2), (1, 1, -2, 0, -1), (3, -1, 0, 1, -3), (0, 2, -1, 1, -1),
           (2, 1, -2, 2, 0))


def _plan_pdf(number: int) -> bytes:
    """A one-page PDF standing for a bidder's service plan (the demo's bid document)."""
    text = f"BT /F1 18 Tf 72 720 Td (Service plan of bidder {number}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _user(session: Session, username: str, display: str, now: dt.datetime) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=display,
                    password_hash=hash_password("courtyard-demo"), is_demo=True, created_at=now)
        session.add(user)
        session.flush()
    return user


def _tender(session, community, committee, *, title, created, deadline):
    rules = services.build_rules(
        criteria=CRITERIA, price_weight="30", formula="lowest_price", n_above="", n_below="",
        deadline=deadline, minimum_bidders=5, panel_size=5, drop_extremes=True, shortlist_size=3)
    motion = services.tender_motions(session, community)[0]
    tender = services.create_tender(
        session, actor=committee, now=created, community=community, motion_id=motion.id,
        title=title, term_months=36, scope=SCOPE, notice_days=20, rules=rules)
    holders = {_user(session, name, name, created).id: phrase
               for name, phrase in DEMO_TENDER_PASSPHRASES.items()}
    services.publish(session, actor=committee, now=created, tender=tender, k=2,
                     passphrases=holders)
    return tender


def add_demo_tenders(session: Session, community: Community, now: dt.datetime,
                     bundle_path: Path | None = None) -> None:
    """Needs the finished meeting that adopted hiring the service company by tender; writes
    the evaluated tender's audit bundle to ``bundle_path``."""
    if not services.tender_motions(session, community):
        return
    committee = _user(session, "committee", "committee", now)
    created = now - dt.timedelta(days=30)
    tender = _tender(session, community, committee, title="2026年物业服务企业选聘招标",
                     created=created, deadline=now - dt.timedelta(days=8))
    evaluators = [_user(session, "evaluator", "evaluator", now)] + [
        _user(session, f"evaluator{i}", f"评标专家{i}", now) for i in range(2, 6)]
    for user, seat in zip(evaluators, ("committee", "building", "building", "building",
                                       "authority"), strict=True):
        panel.appoint(session, actor=committee, now=created + dt.timedelta(days=2),
                         tender=tender, member=user, seat_role=seat)
    for i, (company, price) in enumerate(COMPANIES):
        bidder = _user(session, f"bidder{i + 1}", company, now)
        at = created + dt.timedelta(days=5 + 3 * i)
        services.register_bidder(session, actor=bidder, now=at, tender=tender, company=company,
                                 licence_number=f"9131010{i + 1:011d}",
                                 contact=f"投标联系人 {i + 1}")
        services.submit_bid(session, actor=bidder, now=at + dt.timedelta(hours=2), tender=tender,
                            price=price, text=f"{company}投标文件：服务方案、人员配置、业绩。",
                            files=[(f"{company}服务方案.pdf", "application/pdf",
                                    _plan_pdf(i + 1))])
    opened = tender.deadline + dt.timedelta(hours=1)
    for name, phrase in DEMO_TENDER_PASSPHRASES.items():
        opening.bring_share(session, actor=_user(session, name, name, now), now=opened,
                             tender=tender, purpose=KeyPurpose.BIDS, passphrase=phrase)
    bids = services.opened_bids(tender)
    order = {b.bidder_id: i for i, b in enumerate(bids)}
    base = {"plan": 24, "staff": 15, "record": 7, "response": 7}
    for user in evaluators:
        panel.declare(session, actor=user, now=opened + dt.timedelta(hours=2), tender=tender,
                      conflicts=[], passphrase=DEMO_EVALUATOR_PASSPHRASE)
    for n, user in enumerate(evaluators):
        scores = {b.bid_id: {code: str(value + LEANING[n][order[b.bidder_id]] // (
            2 if value < 10 else 1)) for code, value in base.items()} for b in bids}
        # Sealed here as each evaluator's browser seals it (static/js/sheet.js).
        sealed = seal_ballot(bytes(tender.sheet_public_key),
                             services.box_name(tender, KeyPurpose.SHEETS), services.SHEET_KIND,
                             panel.sheet_plaintext(panel.seat_of(session, tender, user), scores))
        panel.submit_sheet(session, actor=user, now=opened + dt.timedelta(hours=4 + n),
                           tender=tender, sealed_b64=base64.b64encode(sealed).decode())
    for name, phrase in DEMO_TENDER_PASSPHRASES.items():
        opening.bring_share(session, actor=_user(session, name, name, now),
                             now=opened + dt.timedelta(days=1), tender=tender,
                             purpose=KeyPurpose.SHEETS, passphrase=phrase)
    # Four evaluators sign the report with their own keys; "evaluator" is left to sign on
    # the site with the demo passphrase.
    for user in evaluators[1:]:
        panel.sign_report(session, actor=user, now=opened + dt.timedelta(days=1, hours=2),
                          tender=tender, passphrase=DEMO_EVALUATOR_PASSPHRASE)

    if bundle_path is not None:
        bundle_path.parent.mkdir(parents=True, exist_ok=True)
        bundle_path.write_text(json.dumps(decision.tender_bundle(session, tender),
                                          ensure_ascii=False), encoding="utf-8")

    current = _tender(session, community, committee, title="2027年小区公共区域保洁服务招标",
                      created=now - dt.timedelta(days=2), deadline=now + dt.timedelta(days=25))
    first = _user(session, "bidder1", COMPANIES[0][0], now)
    services.register_bidder(session, actor=first, now=now - dt.timedelta(days=1),
                             tender=current, company=COMPANIES[0][0],
                             licence_number="913101010000000001", contact="投标联系人 1")
    services.submit_bid(session, actor=first, now=now - dt.timedelta(hours=20), tender=current,
                        price="386000.00", text="保洁服务方案。")
