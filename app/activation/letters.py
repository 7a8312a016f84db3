"""The activation letters' PDF: one page per unit, every co-owner's code on the unit's page."""

from __future__ import annotations

import base64
import datetime as dt
import io
from zoneinfo import ZoneInfo

import qrcode
from babel.dates import format_date

from ..models import Community
from ..pdf import render_pdf
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


def qr_png(data: str) -> str:
    """A QR code as a PNG data URI with one pixel per module, for print.

    Not ``auth.views.qr_svg``: WeasyPrint draws an SVG path module by module, which made QR
    codes a quarter of the render time of a 240-letter run; a tiny bitmap scaled up with
    ``image-rendering: pixelated`` prints just as sharp and costs nothing to draw.
    """
    qr = qrcode.QRCode(box_size=1, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
