"""The books as an XLSX workbook for a third-party audit: every journal line, every unit's
sub-account, every fund expenditure. Amounts are written as exact decimals."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Community, JournalEntry, JournalLine
from .fund import active_units, spends_of, spent_on
from .ledger import unit_fund_balances


def audit_workbook(session: Session, community: Community) -> bytes:
    book = openpyxl.Workbook()
    journal = book.active
    journal.title = "凭证 Journal"
    journal.append(["序号 seq", "日期 date", "账簿 ledger", "摘要 memo", "科目 account",
                    "科目名称 name", "房屋 unit", "借方 debit", "贷方 credit", "冲销 reverses",
                    "来源 source", "哈希 hash"])
    entries = session.scalars(
        select(JournalEntry).where(JournalEntry.community_id == community.id)
        .options(selectinload(JournalEntry.lines).selectinload(JournalLine.account),
                 selectinload(JournalEntry.lines).selectinload(JournalLine.unit))
        .order_by(JournalEntry.seq))
    for entry in entries:
        for line in entry.lines:
            journal.append([entry.seq, entry.entry_date, entry.ledger.value, entry.memo,
                            line.account.code, line.account.name,
                            line.unit.label if line.unit else "", line.debit, line.credit,
                            entry.reverses_id or "", entry.source, entry.entry_hash])
    units = book.create_sheet("分户账 Sub-accounts")
    units.append(["楼栋 building", "房号 unit", "面积 area", "余额 balance"])
    balances = unit_fund_balances(session, community)
    for unit in active_units(session, community):
        units.append([unit.building.name, unit.number, unit.area, balances.get(unit.id, 0)])
    spends = book.create_sheet("支出 Spends")
    spends.append(["编号 id", "工程 work", "类别 category", "依据 basis", "议案 motion",
                   "紧急情况 emergency", "预算 budget", "已付 paid", "分摊户数 units"])
    for spend in spends_of(session, community):
        spends.append([spend.id, spend.title, spend.category, spend.basis.value,
                       spend.motion_id or "", spend.emergency_kind or "", spend.budget,
                       spent_on(spend), len(spend.units)])
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
