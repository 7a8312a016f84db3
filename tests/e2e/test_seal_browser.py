"""Does static/js/seal.js in real Chromium speak exactly the byte format of elections/sealing.py?

A tiny page served from 127.0.0.1 (a secure context, so WebCrypto is there) loads the real
``static/js/seal.js``. The shared vectors in ``tests/unit/elections/vectors.json`` prove the
browser makes the same bytes as Python; fresh ballots prove Python opens what the browser sealed
and the browser opens what Python sealed, and that signatures cross both ways.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from elections.ballots import encode_candidate_ballot, encode_motion_ballot
from elections.board import tracking_code
from elections.canonical import b64, unb64
from elections.credentials import ballot_signature_message, sign_ballot
from elections.sealing import generate_box_keypair, open_ballot, seal_ballot
from elections.signatures import new_signing_key, signing_public_key, verify_bytes

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
VECTORS = json.loads((ROOT / "tests/unit/elections/vectors.json").read_text(encoding="utf-8"))
PAGE = b"""<!doctype html><meta charset="utf-8"><title>seal test</title>
<script src="/static/js/seal.js"></script>"""

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian chromium is not installed at /usr/bin/chromium (make browser)",
    ),
]


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in ("/", "/seal-test.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        elif self.path.startswith("/static/"):
            super().do_GET()
        else:
            self.send_error(404)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=ROOT))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        tab = browser.new_page()
        tab.goto(f"{server}/seal-test.html")
        tab.wait_for_function("window.CourtyardSeal !== undefined")
        yield tab
        browser.close()


def test_the_browser_has_x25519_and_ed25519(page):
    assert page.evaluate("window.isSecureContext")
    assert page.evaluate("CourtyardSeal.supported()") == {"x25519": True, "ed25519": True}


def test_the_browser_makes_the_vector_bytes_exactly(page):
    made = page.evaluate(
        """async (v) => {
          const S = CourtyardSeal, out = [];
          for (const c of v.seals) {
            const sealed = await S.seal(v.box_public, c.box_id, c.kind, S.b64decode(c.plaintext),
              {ephemeralPrivateKey: c.ephemeral_private, nonce: c.nonce});
            const signature = await S.signBallot(v.credential_text, c.box_id, sealed);
            out.push({sealed: S.b64encode(sealed), signature: S.b64encode(signature),
                      code: await S.trackingCode(sealed)});
          }
          return out;
        }""",
        VECTORS,
    )
    for case, browser in zip(VECTORS["seals"], made, strict=True):
        assert browser["sealed"] == case["sealed"], case["name"]
        assert browser["signature"] == case["signature"], case["name"]
        assert browser["code"] == case["tracking_code"], case["name"]


def test_python_opens_what_the_browser_sealed_and_checks_its_signature(page):
    private, public = generate_box_keypair()
    credential = new_signing_key()
    cases = [
        ("box-browser", "motion", encode_motion_ballot({"m1": "agree", "m2": "abstain"})),
        ("幸福里-2026", "candidate", encode_candidate_ballot(["c1", "c4"])),
        ("box-x", "bid", bytes(range(200))),
    ]
    sealed_list = page.evaluate(
        """async ([publicKey, credential, cases]) => {
          const S = CourtyardSeal, out = [];
          for (const [box, kind, plaintext] of cases) {
            const sealed = await S.seal(publicKey, box, kind, S.b64decode(plaintext));
            const signature = await S.signBallot(credential, box, sealed);
            out.push([S.b64encode(sealed), S.b64encode(signature)]);
          }
          return out;
        }""",
        [b64(public), b64(credential), [[box, kind, b64(p)] for box, kind, p in cases]],
    )
    for (box, kind, plaintext), (sealed_b64, signature_b64) in zip(cases, sealed_list, strict=True):
        sealed = unb64(sealed_b64)
        assert open_ballot(private, box, kind, sealed) == plaintext
        message = ballot_signature_message(box, sealed)
        assert verify_bytes(signing_public_key(credential), message, unb64(signature_b64))
    assert len({s for s, _ in sealed_list}) == len(cases)  # fresh ephemeral keys and nonces


def test_the_browser_opens_what_python_sealed_and_checks_python_signatures(page):
    private, public = generate_box_keypair()
    credential = new_signing_key()
    cases = []
    for box, kind, plaintext in [
        ("box-py", "motion", encode_motion_ballot({"a": "agree"})),
        ("box-py", "candidate", b""),
    ]:
        sealed = seal_ballot(public, box, kind, plaintext)
        cases.append(
            [
                box,
                kind,
                b64(sealed),
                b64(plaintext),
                b64(sign_ballot(credential, box, sealed)),
                tracking_code(sealed),
            ]
        )
    results = page.evaluate(
        """async ([privateKey, credentialPublic, cases]) => {
          const S = CourtyardSeal, out = [];
          for (const [box, kind, sealed, plaintext, signature, code] of cases) {
            const opened = S.b64encode(await S.open(privateKey, box, kind, sealed));
            const good = await S.verifyBallot(credentialPublic, box, sealed, signature);
            const other = await S.verifyBallot(credentialPublic, box + "!", sealed, signature);
            let wrongKind = "opened";
            try { await S.open(privateKey, box, kind + "x", sealed); }
            catch (e) { wrongKind = "refused"; }
            out.push([opened === plaintext, good, other, wrongKind,
                      (await S.trackingCode(sealed)) === code]);
          }
          return out;
        }""",
        [b64(private), b64(signing_public_key(credential)), cases],
    )
    assert results == [[True, True, False, "refused", True]] * 2


def test_the_browser_opens_every_vector(page):
    opened = page.evaluate(
        """async (v) => {
          const S = CourtyardSeal, out = [];
          for (const c of v.seals) {
            out.push(S.b64encode(await S.open(v.box_private, c.box_id, c.kind, c.sealed)));
          }
          return out;
        }""",
        VECTORS,
    )
    assert opened == [case["plaintext"] for case in VECTORS["seals"]]


def test_the_browser_writes_ballot_plaintext_as_python_does(page):
    made = page.evaluate(
        """(ballots) => ballots.map((b) => CourtyardSeal.b64encode(b.motion
             ? CourtyardSeal.encodeMotionBallot(b.motion.choices, b.motion.follow_majority)
             : CourtyardSeal.encodeCandidateBallot(b.candidate)))""",
        VECTORS["ballots"],
    )
    assert made == [b["plaintext"] for b in VECTORS["ballots"]]


def test_a_credential_made_in_the_browser_signs_what_python_verifies(page):
    made = page.evaluate(
        """async () => {
          const S = CourtyardSeal;
          const credential = await S.generateCredential();
          const sealed = Uint8Array.of(1, 2, 3);
          return {
            privateKey: S.b64encode(credential.privateKey),
            publicKey: S.b64encode(credential.publicKey),
            derived: S.b64encode(await S.publicKeyOf(credential.privateKey)),
            signature: S.b64encode(await S.signBallot(credential.privateKey, "box-site", sealed)),
          };
        }"""
    )
    public = unb64(made["publicKey"])
    assert signing_public_key(unb64(made["privateKey"])) == public
    assert unb64(made["derived"]) == public
    message = ballot_signature_message("box-site", bytes([1, 2, 3]))
    assert verify_bytes(public, message, unb64(made["signature"]))


def test_the_browser_reads_a_printed_credential(page):
    parsed = page.evaluate(
        "(text) => CourtyardSeal.b64encode(CourtyardSeal.parseCredentialText(text))",
        " " + VECTORS["credential_text"].lower().replace("-", " "),
    )
    assert parsed == VECTORS["credential_private"]
