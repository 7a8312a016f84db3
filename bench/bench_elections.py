"""Benchmark of the vote integrity engine against the raw crypto floor, in the same run.

    .venv/bin/python bench/bench_elections.py [--ballots 100000] [--workers N]

Phases, each timed beside a bare loop of the same primitives on the same data, with the same
number of worker processes (``elections.parallel``):

* **seal** — seal, sign and accept (signature check) every ballot, chain it onto the board;
  floor: X25519 key generation + ECDH + HKDF + AES-GCM, Ed25519 sign + verify, SHA-256 chain.
* **open + tally** — ``count_board``: open every ballot, apply the validity rules, tally;
  floor: X25519 ECDH + HKDF + AES-GCM decryption.
* **verify** — ``verify_bundle`` on the audit bundle file: chain, signatures, re-opening,
  recount, result; floor: X25519 + HKDF + AES-GCM, Ed25519 verification, SHA-256 chaining.

Targets: open + tally ≤ 1.5 × floor, verify ≤ 2 × floor, and verify < 30 s for 100,000
ballots. Figures are merged into ``bench/results.json`` under the key ``"elections"``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (  # noqa: E402
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

from elections import (  # noqa: E402
    Board,
    Electorate,
    Motion,
    MotionVote,
    Unit,
    VotingPolicy,
    build_bundle,
    combine_shares,
    count_board,
    encode_motion_ballot,
    make_ceremony,
    new_signing_key,
    result_record,
    seal_ballot,
    sign_ballot,
    sign_record,
    sign_result,
    unprotect_share,
    verify_bundle,
)
from elections.credentials import (  # noqa: E402
    CredentialEntry,
    CredentialList,
    CredentialMode,
    ballot_signature_message,
)
from elections.parallel import chunked, map_chunks, worker_count  # noqa: E402
from elections.rules import Matter  # noqa: E402
from elections.sealing import associated_data  # noqa: E402
from elections.signatures import signing_public_key, verify_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
BOX = "bench-agm-2026"
KIND = "motion"
INFO = b"courtyard/seal/v1"
TARGETS = {"open_tally": 1.5, "verify": 2.0}
VERIFY_SECONDS = 30.0


class ProgressBar:
    """A progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\r  {self.label:<14} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done:>7}/{total} {rate:>8.0f}/s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


# -- data -----------------------------------------------------------------------------------------


def _keys_chunk(count: int) -> list[tuple[bytes, bytes]]:
    keys = []
    for _ in range(count):
        private = Ed25519PrivateKey.generate()
        keys.append((private.private_bytes_raw(), private.public_key().public_bytes_raw()))
    return keys


def _cast_chunk(task: tuple[bytes, Sequence[tuple[bytes, bytes]]]) -> list[tuple[bytes, ...]]:
    """Worker: what the browser does (seal, sign) and what the site checks on accepting."""
    box_public, items = task
    out = []
    for credential, plaintext in items:
        sealed = seal_ballot(box_public, BOX, KIND, plaintext)
        signature = sign_ballot(credential, BOX, sealed)
        public = signing_public_key(credential)
        if not verify_bytes(public, ballot_signature_message(BOX, sealed), signature):
            raise AssertionError("signature does not verify")
        out.append((public, signature, sealed))
    return out


def plaintexts(rng: random.Random) -> list[bytes]:
    """The distinct ballots voters send (every mark combination, some with the box ticked)."""
    marks = ["agree", "disagree", "abstain", None]
    found = []
    for a in marks:
        for b in marks:
            for c in marks:
                choices = {k: v for k, v in (("m1", a), ("m2", b), ("m3", c)) if v}
                found.append(encode_motion_ballot(choices))
                found.append(encode_motion_ballot(choices, follow_majority=True))
    weights = [8 if b'"agree"' in p else 1 for p in found]
    return rng.choices(found, weights, k=len(found) * 20)


# -- floors: the same primitives on the same data, in bare loops ---------------------------------


def _floor_seal(task: tuple[bytes, bytes, Sequence[tuple[bytes, bytes]]]) -> list[bytes]:
    box_public, aad_suffix, items = task
    recipient = X25519PublicKey.from_public_bytes(box_public)
    prefix = ballot_signature_message(BOX, b"")
    out = []
    for credential, plaintext in items:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_public = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(recipient)
        key = HKDF(hashes.SHA256(), 32, ephemeral_public + box_public, INFO).derive(shared)
        nonce = os.urandom(12)
        header = b"CYSB\x01" + ephemeral_public + nonce
        sealed = header + AESGCM(key).encrypt(nonce, plaintext, header + aad_suffix)
        signer = Ed25519PrivateKey.from_private_bytes(credential)
        signature = signer.sign(prefix + sealed)
        signer.public_key().verify(signature, prefix + sealed)
        out.append(hashlib.sha256(sealed).digest())
    return out


def _floor_open(task: tuple[bytes, bytes, Sequence[bytes]]) -> list[bytes]:
    private_raw, aad_suffix, sealed_list = task
    private = X25519PrivateKey.from_private_bytes(private_raw)
    public = private.public_key().public_bytes_raw()
    out = []
    for sealed in sealed_list:
        ephemeral_public = sealed[5:37]
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        key = HKDF(hashes.SHA256(), 32, ephemeral_public + public, INFO).derive(shared)
        out.append(AESGCM(key).decrypt(sealed[37:49], sealed[49:], sealed[:49] + aad_suffix))
    return out


def _floor_verify(task: tuple[bytes, bytes, Sequence[tuple[bytes, bytes, bytes]]]) -> list[bytes]:
    private_raw, aad_suffix, records = task
    private = X25519PrivateKey.from_private_bytes(private_raw)
    public = private.public_key().public_bytes_raw()
    prefix = ballot_signature_message(BOX, b"")
    previous = bytes(32)
    out = []
    for credential, signature, sealed in records:
        Ed25519PublicKey.from_public_bytes(credential).verify(signature, prefix + sealed)
        previous = hashlib.sha256(
            previous + credential + signature + hashlib.sha256(sealed).digest()
        ).digest()
        ephemeral_public = sealed[5:37]
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        key = HKDF(hashes.SHA256(), 32, ephemeral_public + public, INFO).derive(shared)
        out.append(AESGCM(key).decrypt(sealed[37:49], sealed[49:], sealed[:49] + aad_suffix))
    return out


# -- the run --------------------------------------------------------------------------------------


def setup(ballots: int, workers: int, rng: random.Random):
    """Electorate, vote, ceremony, site key, credentials and the voters' ballots."""
    electorate = Electorate(
        [
            Unit(f"U{i:06d}", Decimal(rng.randint(4_000, 18_000)) / 100, (f"O{i}",))
            for i in range(ballots + ballots // 10)
        ]
    )
    vote = MotionVote(
        BOX,
        (
            Motion("m1", "Statute", Matter.MANAGEMENT_STATUTE),
            Motion("m2", "Use the fund", Matter.USE_FUND),
            Motion("m3", "Raise the fund", Matter.RAISE_FUND),
        ),
        VotingPolicy(follow_majority_box=True),
    )
    passphrases = {f"s{i}": f"bench scrutineer {i} passphrase" for i in range(1, 6)}
    ceremony = make_ceremony(BOX, 3, passphrases)
    sizes = [len(part) for part in chunked(range(len(electorate.voters)))]
    keys = map_chunks(
        _keys_chunk,
        sizes,
        len(electorate.voters),
        workers=workers,
        progress=ProgressBar("credentials"),
    )
    credentials = CredentialList(
        BOX,
        CredentialMode.AUTHORITY,
        tuple(
            CredentialEntry(v.voter_id, public)
            for v, (_, public) in zip(electorate.voters, keys, strict=True)
        ),
    )
    pool = plaintexts(rng)
    items = [(keys[i][0], pool[i % len(pool)]) for i in range(ballots)]
    rng.shuffle(items)
    return electorate, vote, ceremony, passphrases, credentials, items


def run(ballots: int, workers: int) -> dict:
    """Every phase beside its floor; returns the figures."""
    print(
        f"Courtyard elections bench: {ballots:,} ballots, {workers} worker processes",
        file=sys.stderr,
    )
    electorate, vote, ceremony, passphrases, credentials, items = setup(
        ballots, workers, random.Random(2026)
    )
    site_key = new_signing_key()
    aad_suffix = associated_data(b"", BOX, KIND)
    board = Board(BOX, credentials)
    heads = [board.head(site_key, "2026-05-01T08:00:00Z")]
    figures: dict = {}

    def seal(bar: ProgressBar) -> None:
        tasks = [(ceremony.public_key, part) for part in chunked(items)]
        for public, signature, sealed in map_chunks(
            _cast_chunk, tasks, len(items), workers=workers, progress=bar
        ):
            board.append(public, signature, sealed, check_signature=False)

    seal_tasks = [(ceremony.public_key, aad_suffix, part) for part in chunked(items)]
    figures["seal"] = phase("seal+sign", seal, _floor_seal, seal_tasks, len(items), workers)
    heads.append(board.head(site_key, "2026-05-15T20:00:00Z", closing=True))

    shares = [
        unprotect_share(ceremony.protected_shares[s], passphrases[s]) for s in ("s1", "s3", "s5")
    ]
    private_key = combine_shares(shares, ceremony.public_key)
    counted: list = []

    def open_and_tally(bar: ProgressBar) -> None:
        counted.append(
            count_board(
                board.records,
                credentials,
                electorate,
                vote,
                private_key,
                workers=workers,
                progress=bar,
            )
        )

    open_tasks = [
        (private_key, aad_suffix, part) for part in chunked([r.sealed for r in board.records])
    ]
    figures["open_tally"] = phase(
        "open+tally", open_and_tally, _floor_open, open_tasks, len(board.records), workers
    )
    result = counted[0]
    if not result.invariant_holds():
        raise SystemExit("tally invariant broken")
    record = result_record(
        definition=vote,
        result=result,
        credentials=credentials,
        board_count=len(board.records),
        board_hash=board.head_hash.hex(),
        scrutineers=[s.scrutineer_id for s in shares],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.zip"
        started = time.perf_counter()
        build_bundle(
            path,
            definition=vote,
            electorate=electorate,
            credentials=credentials,
            ceremony=sign_record("ceremony", ceremony.record(), {"site": site_key}),
            board=board,
            heads=heads,
            private_key=private_key,
            shares=shares,
            result=sign_result(record, site_key, shares),
            site_key=site_key,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        figures["bundle"] = {
            "seconds": round(time.perf_counter() - started, 3),
            "bytes": path.stat().st_size,
        }
        reports: list = []

        def verify(bar: ProgressBar) -> None:
            reports.append(verify_bundle(path, workers=workers, progress=bar))

        verify_tasks = [
            (private_key, aad_suffix, part)
            for part in chunked([(r.credential, r.signature, r.sealed) for r in board.records])
        ]
        figures["verify"] = phase(
            "verify", verify, _floor_verify, verify_tasks, len(board.records), workers
        )
    if not reports[0].ok:
        raise SystemExit(f"the honest bundle did not verify: {reports[0].discrepancies[:5]}")
    return figures


def phase(
    label: str,
    work: Callable[[ProgressBar], None],
    floor: Callable,
    tasks: list,
    total: int,
    workers: int,
) -> dict:
    """Time the code, then its floor (same data, same workers)."""
    started = time.perf_counter()
    work(ProgressBar(label))
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    map_chunks(floor, tasks, total, workers=workers, progress=ProgressBar("  floor"))
    floor_seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(seconds / floor_seconds, 3),
    }


def judge(figures: dict, ballots: int) -> dict:
    """Add the targets and whether each was met."""
    for name, target in TARGETS.items():
        figures[name]["target_ratio"] = target
        figures[name]["met"] = figures[name]["ratio"] <= target
    scaled = figures["verify"]["seconds"] * 100_000 / ballots
    figures["verify"]["target_seconds_per_100k"] = VERIFY_SECONDS
    figures["verify"]["met"] = figures["verify"]["met"] and scaled < VERIFY_SECONDS
    return figures


def table(figures: dict, ballots: int) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"{'phase':<12} {'seconds':>9} {'floor s':>9} {'ratio':>7} {'target':>8} "
        f"{'per ballot':>11}  met",
    ]
    for name in ("seal", "open_tally", "verify"):
        f = figures[name]
        target = f"≤{f['target_ratio']}×" if "target_ratio" in f else "-"
        met = {True: "yes", False: "NO"}.get(f.get("met"), "-")
        lines.append(
            f"{name:<12} {f['seconds']:>9.2f} {f['floor_seconds']:>9.2f} {f['ratio']:>6.2f}× "
            f"{target:>8} {f['seconds'] / ballots * 1e6:>8.0f} µs  {met}"
        )
    lines.append(
        f"bundle: {figures['bundle']['bytes'] / 1e6:.1f} MB written in "
        f"{figures['bundle']['seconds']:.2f} s; verify target < {VERIFY_SECONDS:.0f} s "
        f"per 100,000 ballots"
    )
    return "\n".join(lines)


def save(figures: dict, ballots: int, workers: int) -> None:
    """Merge the figures into bench/results.json under "elections"."""
    try:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        results = {}
    results["elections"] = {
        "ballots": ballots,
        "workers": workers,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"python bench/bench_elections.py --ballots {ballots}",
        **figures,
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--no-save", action="store_true", help="do not touch results.json")
    args = parser.parse_args(argv)
    workers = worker_count(args.workers)
    figures = judge(run(args.ballots, workers), args.ballots)
    print(table(figures, args.ballots))
    if not args.no_save:
        save(figures, args.ballots, workers)
        print(f"figures merged into {RESULTS.relative_to(ROOT)} under 'elections'")
    return 0 if all(figures[name]["met"] for name in ("open_tally", "verify")) else 1


if __name__ == "__main__":
    sys.exit(main())
