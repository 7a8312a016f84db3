"""The monthly statistics as an XLSX workbook (the figures of the statistics page)."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from ..models import Community
from .labels import KIND_LABELS, TARGET_LABELS
from .queries import MonthStats


def stats_workbook(community: Community, stats: MonthStats) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{stats.year:04d}-{stats.month:02d}"
    bold = Font(bold=True)
    month = f"{stats.year:04d}-{stats.month:02d}"
    sheet.append([community.name, _("Service desk, %(month)s", month=month)])
    sheet.append([])
    sheet.append([_("Kind"), _("Requests")])
    for kind, count in stats.by_kind.items():
        sheet.append([str(KIND_LABELS[kind]), count])
    sheet.append([_("Total"), stats.total])
    sheet.append([])
    sheet.append([_("Target"), _("Met in time"), _("Measured"), _("Attainment")])
    for target, (met, measured) in stats.attainment.items():
        sheet.append([str(TARGET_LABELS[target]), met, measured,
                      round(met / measured, 4) if measured else None])
    sheet.append([])
    sheet.append([_("Repeat requests (reopened)"), stats.repeats])
    sheet.append([_("Ratings"), stats.ratings])
    for name, value in ((_("Overall"), stats.overall), (_("Speed"), stats.speed),
                        (_("Attitude"), stats.attitude)):
        sheet.append([name, None if value is None else round(value, 2)])
    for row in sheet.iter_rows():
        if row[0].row in (1, 3, 4 + len(stats.by_kind) + 2):
            for cell in row:
                cell.font = bold
    sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
