"""The site's signing key: stable, taken from the configuration when given, checked."""

from __future__ import annotations

import base64

import pytest

from app import signing
from elections.signatures import new_signing_key, signature_problems, signing_public_key


def test_what_the_site_signs_verifies_with_its_public_key(app):
    with app.app_context():
        doc = signing.sign("result", {"box": "b1", "count": 3})
        public = base64.b64decode(signing.site_public_key())
        assert signature_problems("result", doc, {"site": public}) == []
        assert signature_problems("bundle", doc, {"site": public})  # another purpose fails
        assert signing.site_key() == signing.site_key()


def test_a_configured_key_is_used(app):
    seed = new_signing_key()
    app.config["SITE_SIGNING_KEY"] = base64.b64encode(seed).decode()
    app.extensions.pop("site_signing_key", None)
    with app.app_context():
        assert base64.b64decode(signing.site_public_key()) == signing_public_key(seed)


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_key_is_refused_with_its_name(app, bad):
    app.config["SITE_SIGNING_KEY"] = bad
    app.extensions.pop("site_signing_key", None)
    with app.app_context(), pytest.raises(RuntimeError, match="SITE_SIGNING_KEY"):
        signing.site_key()
