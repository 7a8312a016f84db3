"""QR codes as data URIs: no external request, allowed by the site's CSP, embeddable in PDFs.

Two renderings, for two media: an SVG path for screens (sharp at any zoom) and a one-pixel-per-
module PNG for print, because WeasyPrint draws an SVG path module by module, which made QR codes
a quarter of the render time of a 240-letter run; the bitmap scaled up with
``image-rendering: pixelated`` prints just as sharp and costs nothing to draw.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def qr_svg(data: str) -> str:
    """A QR code for a page (TOTP enrolment, later key shares)."""
    buf = io.BytesIO()
    qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buf)
    return _data_uri("image/svg+xml", buf.getvalue())


def qr_png(data: str) -> str:
    """A QR code for print, one pixel per module (scale it up in the stylesheet)."""
    qr = qrcode.QRCode(box_size=1, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return _data_uri("image/png", buf.getvalue())
