"""Official PDFs: render a Jinja template to PDF with WeasyPrint.

Every official document (activation letters, meeting notices, announcements, reports) extends
``templates/pdf/base.html`` and shares ``static/css/print.css``, so they all look like the paper
notices owners know. Relative URLs in a template (``css/print.css``, ``img/…``, later
``fonts/…``) resolve against the static folder.

WeasyPrint only fetches what this module allows: files under the static folder and ``data:``
URIs (the QR codes). Text that owners or staff typed ends up in these templates; a stray
``<img src="http://…">`` or ``file:///etc/…`` in it must never make the server fetch anything.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from weasyprint import CSS, HTML, URLFetcher
from weasyprint.text.fonts import FontConfiguration

PDF_MIMETYPE = "application/pdf"


class StaticOnlyFetcher(URLFetcher):
    """Serves ``data:`` URIs and files under the static folder; refuses everything else."""

    def __init__(self, static_root: Path):
        super().__init__(allowed_protocols=("data", "file"))
        self.static_root = static_root

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if not (path.is_relative_to(self.static_root) and path.is_file()):
                raise ValueError(f"PDF rendering does not read {path}")
        return super().fetch(url, headers)


def _static_root() -> Path:
    return Path(current_app.static_folder).resolve()


@functools.cache
def _print_stylesheet(path: str, mtime: float, font_config: FontConfiguration) -> CSS:
    # Parsing print.css once per process (per change of the file) instead of once per document
    # keeps long runs (hundreds of letters, many requests) from re-reading it.
    del mtime  # part of the cache key only
    return CSS(filename=path, font_config=font_config,
               url_fetcher=StaticOnlyFetcher(Path(path).parent.parent))


@functools.cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


def render_pdf(template: str, /, **context) -> bytes:
    """Render ``template`` with ``context`` and return the PDF bytes.

    The shared print stylesheet is applied to every document; templates do not link it
    themselves (they may add their own ``<style>`` for document-specific layout).
    """
    static_root = _static_root()
    html = render_template(template, **context)
    css_path = static_root / "css" / "print.css"
    font_config = _font_config()
    stylesheet = _print_stylesheet(str(css_path), css_path.stat().st_mtime, font_config)
    document = HTML(
        string=html,
        base_url=static_root.as_uri() + "/",
        url_fetcher=StaticOnlyFetcher(static_root),
    )
    return document.write_pdf(stylesheets=[stylesheet], font_config=font_config)
