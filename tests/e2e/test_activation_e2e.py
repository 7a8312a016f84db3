"""An owner activates an account from a letter's code in real Chromium, then logs in again."""

from __future__ import annotations

import re

import pytest
from browsing import shot

pytestmark = pytest.mark.e2e

PASSWORD = "梧桐苑 my own password"



def _activate(page, base: str, letter, phone: str) -> None:
    """Scan (open the QR link), continue, prove identity, choose a login, submit."""
    page.goto(f"{base}/activate?code={letter.code}")
    assert page.input_value("#code").replace("-", "") == letter.code  # prefilled from the link
    page.click("main form button[type=submit]")
    page.wait_for_selector("#identity")
    page.fill("#identity", letter.id_number)
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    return page


def test_owner_activates_from_the_letter_and_logs_in_again(page, live_server, small_community,
                                                          letter):
    """Does a letter's code open an account that then logs in with phone and password?"""
    paper = letter("许平明")
    _activate(page, live_server.url, paper, phone="13912345678")
    shot(page, "desktop-1-activate")
    page.click("main form button[type=submit]")
    community_url = re.compile(rf"/c/{small_community.community_id}/$")
    page.wait_for_url(community_url)
    assert page.locator("h1").inner_text() == small_community.name
    assert paper.unit_label in page.locator("main").inner_text()  # "My units"
    shot(page, "desktop-2-community")

    page.click("form[action$='/logout'] button")
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"{live_server.url}/login")
    page.fill("#login", "13912345678")
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(community_url)  # the dashboard sends a one-community owner straight on
    assert page.locator("h1").inner_text() == small_community.name
    shot(page, "desktop-3-logged-in-again")


def test_activation_fits_a_phone(phone_page, live_server, small_community, letter):
    """On a 390-pixel phone, is every step usable without sideways scrolling?"""
    paper = letter("韩建")
    phone_page.goto(f"{live_server.url}/activate?code={paper.code}")
    shot(phone_page, "phone-1-code")
    _activate(phone_page, live_server.url, paper, phone="13912345679")
    shot(phone_page, "phone-2-account")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.click("main form button[type=submit]")
    phone_page.wait_for_url(re.compile(rf"/c/{small_community.community_id}/$"))
    shot(phone_page, "phone-3-community")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_used_code_is_refused_in_the_browser(page, live_server, letter):
    paper = letter("邓燕平")
    _activate(page, live_server.url, paper, phone="13912345670")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    page.click("form[action$='/logout'] button")
    page.goto(f"{live_server.url}/activate?code={paper.code}")
    page.click("main form button[type=submit]")
    error = page.locator("#code-error")
    assert "already used" in error.inner_text()
    assert page.get_attribute("#code", "aria-invalid") == "true"
