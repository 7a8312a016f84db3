"""The offline verifier: ``python -m elections.verify BUNDLE``.

It needs only this package and ``cryptography``. It re-checks the manifest, the ceremony, the
opening (shares against their commitments, key against the box), the board's hash chain and
every ballot signature, the signed heads, then re-opens every ballot, re-applies the validity
rules, recounts with the same functions the site uses, compares every figure of the signed
result and checks every signature on it. Each discrepancy is printed with its place (record
number, voter, motion); the exit status is 0 only when everything holds.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .ballots import Election, MotionVote, definition_from_json
from .board import HEAD_PURPOSE, genesis_hash, read_jsonl_header, record_hash
from .bundle import MANIFEST, MANIFEST_PURPOSE, BundleFiles, read_bundle
from .canonical import canonical_json, sha256_hex, unb64
from .ceremony import share_fingerprint
from .counting import read_casts
from .credentials import CredentialList, CredentialMode, ballot_signature_message
from .electorate import Electorate
from .errors import ElectionError, SealError
from .parallel import Progress, chunked, map_chunks, paused_gc
from .result import RESULT_PURPOSE, differences, result_record, scrutineer_signer
from .sealing import BallotOpener, box_public_key
from .shamir import Share, combine_secret
from .signatures import key_fingerprint, signature_problems, verify_bytes
from .tally import tally


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not hold, and where."""

    place: str
    problem: str

    def __str__(self) -> str:
        return f"{self.place}: {self.problem}"


@dataclass
class Report:
    """What the verifier found: discrepancies (empty when all holds) and notes to read."""

    box_id: str | None = None
    records: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True only when nothing was found."""
        return not self.discrepancies

    def add(self, place: str, problem: str) -> None:
        """Record a discrepancy."""
        self.discrepancies.append(Discrepancy(place, problem))

    def places(self) -> list[str]:
        """Every place named, for tests and summaries."""
        return [d.place for d in self.discrepancies]


class _Checked(NamedTuple):
    """One board record as a worker checked it (a tuple: 100,000 of them cross a pipe)."""

    number: Any
    credential: bytes | None
    prev: str
    hash: str
    problems: tuple[str, ...]
    plaintext: bytes | None
    server_sealed: bool = False


def _verify_chunk(task: tuple[bytes | None, str, str, Sequence[bytes]]) -> list[_Checked]:
    """Worker: parse, re-hash, check the signature and open each record line."""
    private_key, box_id, kind, lines = task
    opener = BallotOpener(private_key, box_id, kind) if private_key else None
    prefix = ballot_signature_message(box_id, b"")
    b64decode = base64.b64decode
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
            number, prev, stated = rec["n"], rec["prev"], rec["hash"]
            credential = b64decode(rec["credential"], validate=True)
            signature = b64decode(rec["signature"], validate=True)
            sealed = b64decode(rec["sealed"], validate=True)
            prev_bytes = bytes.fromhex(prev)
            server_sealed = rec["server_sealed"]
            if not isinstance(number, int) or not isinstance(stated, str):
                raise TypeError("bad field types")
            if not isinstance(server_sealed, bool):
                raise TypeError("server_sealed must be true or false")
        except (ValueError, KeyError, TypeError) as exc:
            out.append(_Checked(None, None, "", "", (f"malformed record: {exc}",), None))
            continue
        problems = []
        digest = hashlib.sha256(sealed).digest()
        if (
            record_hash(
                prev_bytes, number, credential, signature, digest, server_sealed=server_sealed
            ).hex()
            != stated
        ):
            problems.append("record hash does not match its contents (altered)")
        if not verify_bytes(credential, prefix + sealed, signature):
            problems.append("ballot signature does not verify with its credential")
        plaintext = None
        if opener is not None:
            try:
                plaintext = opener.open(sealed)
            except SealError:
                plaintext = None
        out.append(
            _Checked(number, credential, prev, stated, tuple(problems), plaintext, server_sealed)
        )
    return out


class _Verifier:
    def __init__(self, files: BundleFiles, report: Report, site_key: bytes | None) -> None:
        self.files = files
        self.report = report
        self.pinned_site_key = site_key
        self.site_key: bytes | None = None
        self.box_id: str | None = None

    def doc(self, name: str) -> Any:
        return self.files.json.get(name)

    # -- manifest, definition, electorate, credentials ---------------------------------------

    def manifest(self) -> None:
        doc = self.doc(MANIFEST)
        try:
            record = doc["record"]
            self.box_id = str(record["box"])
            self.site_key = unb64(record["site_key"])
            hashes = dict(record["files"])
        except (KeyError, TypeError, ValueError):
            self.report.add("manifest", "unreadable; cannot tell which site signed the bundle")
            return
        if self.pinned_site_key is not None and self.pinned_site_key != self.site_key:
            self.report.add("manifest", "signed by another site key than the one given")
            self.site_key = self.pinned_site_key
        for problem in signature_problems(MANIFEST_PURPOSE, doc, {"site": self.site_key}):
            self.report.add("manifest", problem)
        for name, data in self.files.raw.items():
            if name != MANIFEST and hashes.get(name) != sha256_hex(data):
                self.report.add(f"file {name}", "differs from the hash in the signed manifest")
        self.report.box_id = self.box_id
        self.report.notes.append(f"site key fingerprint {key_fingerprint(self.site_key)}")

    def definition(self) -> MotionVote | Election | None:
        data = self.doc("definition.json")
        try:
            definition = definition_from_json(data)
        except (ElectionError, AttributeError, TypeError) as exc:
            self.report.add("definition", f"unreadable: {exc}")
            return None
        if definition.box_id != self.box_id:
            self.report.add("definition", f"is for box {definition.box_id}, not {self.box_id}")
        return definition

    def electorate(self) -> Electorate | None:
        try:
            return Electorate.from_json(self.doc("electorate.json"))
        except (ElectionError, AttributeError, TypeError) as exc:
            self.report.add("electorate", f"unreadable: {exc}")
            return None

    def credentials(self, electorate: Electorate | None) -> CredentialList | None:
        try:
            credentials = CredentialList.from_json(self.doc("credentials.json"))
        except (ElectionError, AttributeError, TypeError) as exc:
            self.report.add("credentials", f"unreadable: {exc}")
            return None
        if credentials.box_id != self.box_id:
            self.report.add("credentials", f"list is for box {credentials.box_id}")
        if electorate is not None:
            for entry in credentials.entries:
                if entry.voter_id not in electorate:
                    self.report.add(f"credentials, voter {entry.voter_id}", "not in the electorate")
        self.report.notes.append(
            f"credentials: {credentials.mode.value}, {credentials.count}, "
            f"fingerprint {credentials.fingerprint}"
        )
        return credentials

    # -- ceremony and opening -----------------------------------------------------------------

    def ceremony(self) -> dict[str, Any] | None:
        doc = self.doc("ceremony.json")
        if self.site_key is not None:
            for problem in signature_problems("ceremony", doc or {}, {"site": self.site_key}):
                self.report.add("ceremony", problem)
        try:
            record = doc["record"]
            entries = {e["scrutineer"]: e for e in record["scrutineers"]}
            public = unb64(record["public_key"])
            k, n = int(record["k"]), int(record["n"])
        except (KeyError, TypeError, ValueError):
            self.report.add("ceremony", "unreadable")
            return None
        if record.get("box") != self.box_id:
            self.report.add("ceremony", f"is for box {record.get('box')}")
        return {"entries": entries, "public": public, "k": k, "n": n}

    def opening(self, ceremony: Mapping[str, Any] | None) -> tuple[bytes | None, list[str]]:
        data = self.doc("opening.json") or {}
        try:
            private = unb64(data["private_key"])
            published_shares = list(data["shares"])
        except (KeyError, TypeError, ValueError):
            self.report.add("opening", "unreadable: no key to re-open the ballots")
            return None, []
        if ceremony is None:
            return private, []
        try:
            public = box_public_key(private)
        except ElectionError:
            public = b""
        if public != ceremony["public"]:
            self.report.add("opening", "the published private key does not belong to this box")
        shares, scrutineers = [], []
        for item in published_shares:
            who = item.get("scrutineer")
            place = f"key share {item.get('x')} (scrutineer {who})"
            entry = ceremony["entries"].get(who)
            try:
                share = Share(int(item["x"]), int(item["y"], 16), int(item["k"]), int(item["n"]))
            except (ElectionError, KeyError, TypeError, ValueError):
                self.report.add(place, "unreadable")
                continue
            if entry is None or entry["x"] != share.x:
                self.report.add(place, "not a share handed out at the ceremony")
                continue
            if share_fingerprint(self.box_id or "", share) != entry["share_fingerprint"]:
                self.report.add(place, "does not match the share committed at the ceremony")
                continue
            shares.append(share)
            scrutineers.append(who)
        if len(shares) < ceremony["k"]:
            self.report.add("opening", f"{len(shares)} good shares, {ceremony['k']} needed")
        else:
            try:
                if combine_secret(shares) != private:
                    self.report.add("opening", "the shares do not rebuild the published key")
            except ElectionError as exc:
                self.report.add("opening", str(exc))
        return private, scrutineers

    # -- board and heads ----------------------------------------------------------------------

    def board(
        self,
        private: bytes | None,
        kind: str,
        workers: int | None,
        progress: Progress | None,
        meanwhile: Callable[[], None],
    ) -> list[_Checked]:
        raw = self.files.raw.get("board.jsonl")
        try:
            header, lines = read_jsonl_header(raw or b"")
        except ElectionError as exc:
            self.report.add("board", str(exc))
            meanwhile()
            return []
        if header.get("box") != self.box_id:
            self.report.add("board", f"is for box {header.get('box')}")
        tasks = [(private, self.box_id or "", kind, part) for part in chunked(lines)]
        checked = map_chunks(
            _verify_chunk,
            tasks,
            len(lines),
            workers=workers,
            progress=progress,
            meanwhile=meanwhile,
        )
        expected_prev = genesis_hash(self.box_id or "").hex()
        for index, item in enumerate(checked, start=1):
            place = f"board record {index}"
            if item.number != index and item.number is not None:
                self.report.add(place, f"numbered {item.number} (deleted, inserted or moved)")
            if item.prev != expected_prev and item.number is not None:
                self.report.add(place, "does not chain to the record before it")
            expected_prev = item.hash
            for problem in item.problems:
                self.report.add(place, problem)
        self.report.records = len(checked)
        return checked

    def casts_input(
        self, checked: Sequence[_Checked], credentials: CredentialList
    ) -> list[tuple[int, str, bytes | None]]:
        used: dict[bytes, int] = {}
        opened = []
        for index, item in enumerate(checked, start=1):
            if item.credential is None:
                continue
            if item.credential not in credentials:
                self.report.add(f"board record {index}", "credential is not on the frozen list")
                continue
            voter = credentials.voter_of(item.credential)
            place = f"board record {index}, voter {voter}"
            if item.credential in used:
                self.report.add(
                    place,
                    f"second ballot with the credential of record {used[item.credential]} (replay)",
                )
                continue
            used[item.credential] = index
            if any("signature" in p for p in item.problems):
                continue  # a forged ballot is not counted; its record is already named
            opened.append((index, voter, item.plaintext))
        return opened

    def heads(self, checked: Sequence[_Checked], credentials: CredentialList | None) -> None:
        data = self.doc("heads.json") or {}
        heads = data.get("heads") if isinstance(data, dict) else None
        if not heads:
            self.report.add("heads", "no signed head published")
            return
        hashes = [genesis_hash(self.box_id or "").hex()] + [c.hash for c in checked]
        last_count = 0
        for number, doc in enumerate(heads, start=1):
            place = f"head {number}"
            if self.site_key is not None:
                for problem in signature_problems(HEAD_PURPOSE, doc, {"site": self.site_key}):
                    self.report.add(place, problem)
            try:
                record = doc["record"]
                count, digest = int(record["count"]), str(record["hash"])
                published = dict(record["credentials"])
            except (KeyError, TypeError, ValueError):
                self.report.add(place, "unreadable")
                continue
            place = f"head {number} (at {record.get('at')}, {count} records)"
            if record.get("box") != self.box_id:
                self.report.add(place, f"is for box {record.get('box')}")
            if count < last_count:
                self.report.add(place, "counts fewer records than an earlier head")
            last_count = count
            if count >= len(hashes):
                self.report.add(place, f"the board has only {len(hashes) - 1} records")
            elif hashes[count] != digest:
                self.report.add(place, f"the board's first {count} records were rewritten")
            if credentials is not None:
                final = number == len(heads)
                if (final or credentials.mode is CredentialMode.AUTHORITY) and (
                    published.get("fingerprint") != credentials.fingerprint
                ):
                    self.report.add(place, "announced another credential list")
        final = heads[-1].get("record", {}) if isinstance(heads[-1], dict) else {}
        if not final.get("closed") or final.get("count") != len(checked):
            self.report.add("heads", "the last head is not the closing head of the whole board")
        if isinstance(final.get("count"), int) and final["count"] > len(checked):
            self.report.add(
                f"board record {len(checked) + 1}",
                f"missing: the closing head counts {final['count']} records",
            )

    # -- result -------------------------------------------------------------------------------

    def result(
        self,
        definition: MotionVote | Election,
        electorate: Electorate,
        credentials: CredentialList,
        opened: list[tuple[int, str, bytes | None]],
        checked: Sequence[_Checked],
        ceremony: Mapping[str, Any] | None,
        scrutineers: list[str],
    ) -> None:
        doc = self.doc("result.json") or {}
        expected = {"site": self.site_key} if self.site_key is not None else {}
        for who in scrutineers:
            if ceremony is not None:
                key = unb64(ceremony["entries"][who]["signing_key"])
                expected[scrutineer_signer(who)] = key
        for problem in signature_problems(RESULT_PURPOSE, doc, expected):
            self.report.add("result", problem)
        published = doc.get("record") if isinstance(doc, dict) else None
        taking_part = ((published or {}).get("board") or {}).get("voters_taking_part")
        if taking_part is not None and not isinstance(taking_part, int):
            self.report.add("result, board.voters_taking_part", "not a whole number")
            taking_part = None
        try:
            recount = tally(electorate, read_casts(opened, definition), definition,
                            voters_taking_part=taking_part)
        except ElectionError as exc:
            self.report.add("recount", str(exc))
            return
        if not recount.invariant_holds():
            self.report.add("recount", "an invariant of the count does not hold")
        head_hash = checked[-1].hash if checked else genesis_hash(self.box_id or "").hex()
        mine = result_record(
            definition=definition,
            result=recount,
            credentials=credentials,
            board_count=len(checked),
            board_hash=head_hash,
            server_sealed=sum(1 for c in checked if c.server_sealed),
            scrutineers=scrutineers,
            voters_taking_part=taking_part,
        )
        for path, what in differences(published or {}, json.loads(canonical_json(mine))):
            self.report.add(f"result, {path}", what)
        self.report.notes.append(_summary(mine["result"]))
        self.report.notes.append(
            f"ballots sealed by the server for owners without JavaScript: "
            f"{mine['board']['server_sealed']}"
        )


def _summary(result: Mapping[str, Any]) -> str:
    counts = result["counts"]
    text = (
        f"recount: {counts['ballots']} ballots, {counts['valid']} valid, {counts['void']} void, "
        f"{counts['blank']} blank"
    )
    if result["kind"] == "motion":
        adopted = [m["motion"] for m in result["motions"] if m["adopted"]]
        return text + f"; quorum met: {result['quorum_met']}; adopted: {', '.join(adopted) or '-'}"
    return text + f"; elected: {', '.join(result['elected']) or '-'}"


def verify_bundle(
    source: str | Path | bytes,
    *,
    site_key: bytes | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Report:
    """Re-check everything in an audit bundle; see the module docstring."""
    report = Report()
    with paused_gc():
        try:
            files = read_bundle(source)
        except ElectionError as exc:
            report.add("bundle", str(exc))
            return report
        for name, why in files.unreadable.items():
            report.add(f"file {name}", why)
        check = _Verifier(files, report, site_key)
        check.manifest()
        definition = check.definition()
        ceremony = check.ceremony()
        private, scrutineers = check.opening(ceremony)
        loaded: dict[str, Any] = {}

        def load_register() -> None:  # while the workers check the board
            loaded["electorate"] = check.electorate()
            loaded["credentials"] = check.credentials(loaded["electorate"])

        kind = definition.kind.value if definition is not None else ""
        checked = check.board(private, kind, workers, progress, meanwhile=load_register)
        electorate, credentials = loaded["electorate"], loaded["credentials"]
        check.heads(checked, credentials)
        if definition is None or electorate is None or credentials is None or private is None:
            report.add("recount", "not possible: a file it needs is missing or unreadable")
            return report
        opened = check.casts_input(checked, credentials)
        check.result(definition, electorate, credentials, opened, checked, ceremony, scrutineers)
    return report


def _progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} records")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: exit 0 when everything holds, 1 on any discrepancy, 2 when unreadable."""
    parser = argparse.ArgumentParser(
        prog="python -m elections.verify", description="Verify a Courtyard audit bundle offline."
    )
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--site-key", help="the site's public key (base64) as it publishes it")
    parser.add_argument("--workers", type=int, help="processes to use (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="print discrepancies only")
    args = parser.parse_args(argv)
    if not args.bundle.is_file():
        print(f"{args.bundle}: no such file", file=sys.stderr)
        return 2
    pinned = unb64(args.site_key) if args.site_key else None
    progress = _progress_bar if sys.stderr.isatty() and not args.quiet else None
    report = verify_bundle(args.bundle, site_key=pinned, workers=args.workers, progress=progress)
    if not args.quiet:
        print(f"bundle {args.bundle} — box {report.box_id}, {report.records} board records")
        for note in report.notes:
            print(f"  {note}")
    for item in report.discrepancies:
        print(f"DISCREPANCY  {item}")
    if report.ok:
        print("OK: everything in the bundle holds")
        return 0
    print(f"FAILED: {len(report.discrepancies)} discrepancies")
    return 1


if __name__ == "__main__":
    sys.exit(main())
