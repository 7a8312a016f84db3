"""The activation letters' PDF: one page per unit, every co-owner's code on the unit's page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date

from ..models import Community
from ..pdf import render_pdf
from ..qr import qr_png
from .services import Issued


def activate_url(site_url: str) -> str:
    return site_url.rstrip("/") + "/activate"


def letters_filename(community: Community, issued: Issued) -> str:
    """An ASCII file name (it goes into a header) that sorts by date."""
    day = issued.issued_at.astimezone(ZoneInfo(community.timezone)).strftime("%Y%m%d-%H%M")
    return f"activation-letters-{community.id}-{day}.pdf"


def render_letters(community: Community, issued: Issued, *, site_url: str) -> bytes:
    """The PDF of ``issued``'s letters. The letter is read on paper, so it is bilingual,
    Chinese first, whatever language the committee member uses the site in."""
    base = activate_url(site_url)
    letters = [
        {
            "unit_label": letter.unit_label,
            "owners": [
                # The plain 12 characters keep the QR code small enough to scan off paper.
                {"owner": owner, "qr": qr_png(f"{base}?code={owner.code}")}
                for owner in letter.owners
            ],
        }
        for letter in issued.letters
    ]
    issued_on = issued.issued_at.astimezone(ZoneInfo(community.timezone)).date()
    return render_pdf(
        "pdf/activation_letters.html",
        community=community,
        letters=letters,
        activate_url=base,
        valid_zh=_long_date(issued.valid_through, "zh_Hans_CN"),
        valid_en=_long_date(issued.valid_through, "en"),
        signed_on=_long_date(issued_on, "zh_Hans_CN"),
    )


def _long_date(day: dt.date, locale: str) -> str:
    return format_date(day, "long", locale=locale)
