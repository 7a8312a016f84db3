"""What every end-to-end journey does in the browser: log in (with the TOTP step where the
account has one) and keep a screenshot to look at the page as its user sees it."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp

SHOTS = Path("/tmp/courtyard-e2e")


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str, password: str, secret: str | None = None, *,
           lang: str | None = None) -> None:
    page.goto(f"{base}/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#login", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    if secret:
        page.wait_for_url(re.compile(r"/login/totp$"))
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/(c/\d+/|dashboard)$"))
