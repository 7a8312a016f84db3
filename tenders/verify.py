"""Verify a tender's audit bundle offline: ``python -m tenders.verify BUNDLE [--site-key B64]``.

The bundle (JSON, ``courtyard.tender-bundle/1``) carries the tender file's rules, the signed
ceremony record of both boxes, the whole bid log with every sealed bid, the bids box's private
key as rebuilt at the opening, the signed opening record, the panel and its declarations, the
sealed score sheets, the sheets box's private key and the signed evaluation. The verifier

1. checks the site's signature on the ceremony and that each published private key belongs to
   the box's public key;
2. replays the bid log against the deadline (the last submission counts), re-opens every
   counted bid and compares bidder, price, documents (each file by its SHA-256), time and
   seal hash with the opening record, and checks its signatures (site and the key holders
   named by the ceremony);
3. re-opens every sheet, applies recusal from the declarations, recomputes the evaluation with
   :func:`tenders.evaluate` and compares it byte for byte with the signed one, and checks its
   signatures;
4. checks each evaluator's own signature under the report against the key the signed
   evaluation pins for them, and that it signs this version of the report.

Only the standard library, ``cryptography`` and the pure packages are needed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from elections.errors import SealError
from elections.sealing import BallotOpener, box_public_key
from elections.signatures import signature_problems

from .documents import open_documents
from .lifecycle import (
    BidAction,
    BidEvent,
    ConflictDeclaration,
    OpenedBid,
    PanelMember,
    TieResolution,
    close_bidding,
    panel_status,
    sheet_from_plaintext,
)
from .rules import TenderError, TenderRules, canonical_json
from .scoring import evaluate, result_json
from .signing import report_signature_problems

BUNDLE_FORMAT = "courtyard.tender-bundle/1"


def _b64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _holder_keys(ceremony_record: Mapping[str, Any], box: str) -> dict[str, bytes]:
    return {s["scrutineer"]: base64.b64decode(s["signing_key"])
            for s in ceremony_record[box]["scrutineers"]}


def _signers(doc: Mapping[str, Any], site_key: bytes, holders: Mapping[str, bytes]) -> dict:
    """The site and every key holder who signed (a holder who did not open did not sign)."""
    named = {s.get("signer") for s in doc.get("signatures", [])}
    return {"site": site_key, **{h: k for h, k in holders.items() if h in named}}


def _check_key(problems: list[str], ceremony: Mapping[str, Any], box: str,
               private: bytes | None) -> bytes | None:
    if private is None:
        return None
    expected = base64.b64decode(ceremony[box]["public_key"])
    try:
        if box_public_key(private) == expected:
            return private
    except SealError:
        pass
    problems.append(f"the published {box} key does not belong to the {box} box")
    return None


def _verify_opening(problems: list[str], data: Mapping[str, Any], rules: TenderRules,
                    private: bytes) -> list[OpenedBid]:
    opening = data["opening"]["record"]
    log = tuple(
        BidEvent(e["bidder_id"], BidAction(e["action"]), datetime.fromisoformat(e["at"]),
                 str(e["event"]) if e["sealed"] else None)
        for e in data["bids"])
    sealed = {str(e["event"]): _b64(e["sealed"]) for e in data["bids"] if e["sealed"]}
    outcome = close_bidding(rules, log, datetime.fromisoformat(opening["opened_at"]))
    opener = BallotOpener(private, f"{data['tender']}/bids", "bid")
    recorded = {b["bid_id"]: b for b in opening["bids"]}
    if len(recorded) != len(outcome.counted):
        problems.append(f"the opening record lists {len(recorded)} bids, the log counts "
                        f"{len(outcome.counted)}")
    opened = []
    for event in outcome.counted:
        bid_id = f"T{event.sealed_bid}"
        entry = recorded.get(bid_id)
        if entry is None:
            problems.append(f"counted bid {bid_id} of {event.bidder_id} is not in the record")
            continue
        envelope = sealed[event.sealed_bid]
        if hashlib.sha256(envelope).hexdigest() != entry["sealed_sha256"]:
            problems.append(f"bid {bid_id}: the seal's hash differs from the record")
        try:
            content = json.loads(opener.open(envelope))
            price, documents = str(content["price"]), str(content.get("documents", ""))
            files = [d.to_json() for d in open_documents(content.get("files"))]
        except (SealError, ValueError, KeyError, TypeError, AttributeError):
            price, documents, files = None, "", []
        if entry["bidder_id"] != event.bidder_id or entry["price"] != price or (
                price is not None and entry["documents"] != documents):
            problems.append(f"bid {bid_id}: the opened bid differs from the opening record")
        if price is not None and entry.get("files", []) != files:
            problems.append(f"bid {bid_id}: the opened files differ from the opening record "
                            "(names, types, sizes or SHA-256)")
        if datetime.fromisoformat(entry["submitted_at"]) != event.at:
            problems.append(f"bid {bid_id}: the submission time differs from the log")
        if entry["problem"] is None and price is not None:
            opened.append(OpenedBid(bid_id, event.bidder_id, price, event.at))
    return opened


def _verify_evaluation(problems: list[str], data: Mapping[str, Any], rules: TenderRules,
                       bids: list[OpenedBid], private: bytes) -> None:
    opener = BallotOpener(private, f"{data['tender']}/sheets", "sheet")
    sheets, refused = [], {}
    for entry in data["sheets"]:
        code = entry["seat"]
        try:
            plaintext = opener.open(_b64(entry["sealed"]))
        except SealError:
            refused[code] = (f"the sheet of evaluator {code} does not open",)
            continue
        sheet, why = sheet_from_plaintext(code, datetime.fromisoformat(entry["submitted_at"]),
                                          plaintext)
        if sheet is None:
            refused[code] = why
        else:
            sheets.append(sheet)
    members = [PanelMember(p["seat"], "", p["role"]) for p in data["panel"]]
    declarations = [ConflictDeclaration(p["seat"], frozenset(p["conflicts"] or ()))
                    for p in data["panel"] if p["declared_at"]]
    status = panel_status(rules, members, declarations, [b.bidder_id for b in bids])
    pinned = data["evaluation"]["record"].get("evaluator_keys", {})
    problems += [f"the evaluation pins a signing key for {seat}, who is not an active evaluator"
                 for seat in sorted(set(pinned) - set(status.active))]
    # The committee's recorded order of tied bids is a decision, not a computation: taken as
    # recorded, and refused by evaluate() unless it matches a tie of the recomputed ranking.
    resolutions = [TieResolution(tuple(t["order"]), t["reason"]) for t in
                   data["evaluation"]["record"]["result"]["inputs"]["tie_resolutions"]]
    try:
        text = result_json(evaluate(rules, bids, sheets, active_evaluators=status.active,
                                    tie_resolutions=resolutions, refused_sheets=refused))
    except TenderError as exc:
        problems.append(f"the evaluation cannot be recomputed: {exc}")
        return
    if text != canonical_json(data["evaluation"]["record"]["result"]):
        problems.append("the recomputed evaluation differs from the signed one")


def verify_bundle(data: Mapping[str, Any], site_key: bytes | None = None) -> list[str]:
    """Every problem of the bundle (an empty list: it all holds).

    ``site_key`` pins the site's public key; without it the bundle's own is used.
    """
    if data.get("format") != BUNDLE_FORMAT:
        return [f"not a tender bundle of format {BUNDLE_FORMAT}"]
    problems: list[str] = []
    site = site_key or base64.b64decode(data["site_key"])
    ceremony = data["ceremony"]
    problems += [f"ceremony: {p}" for p in
                 signature_problems("tender-ceremony", ceremony, {"site": site})]
    record = ceremony["record"]
    rules = TenderRules.from_json(data["rules"])
    bid_key = _check_key(problems, record, "bids", _b64(data.get("bid_private_key")))
    if data.get("opening") is None or bid_key is None:
        return [*problems, "the bids have not been opened: nothing more to check"]
    holders = _holder_keys(record, "bids")
    problems += [f"opening record: {p}" for p in signature_problems(
        "tender-opening", data["opening"], _signers(data["opening"], site, holders))]
    bids = _verify_opening(problems, data, rules, bid_key)
    if data.get("evaluation") is None:
        return problems
    sheet_key = _check_key(problems, record, "sheets", _b64(data.get("sheet_private_key")))
    if sheet_key is None:
        return [*problems, "the evaluation is signed but the sheets key is missing"]
    holders = _holder_keys(record, "sheets")
    problems += [f"evaluation: {p}" for p in signature_problems(
        "tender-evaluation", data["evaluation"], _signers(data["evaluation"], site, holders))]
    _verify_evaluation(problems, data, rules, bids, sheet_key)
    _verify_report_signatures(problems, data)
    return problems


def _verify_report_signatures(problems: list[str], data: Mapping[str, Any]) -> None:
    """Each evaluator's signature under the report, with the key the signed evaluation pins."""
    evaluation = data["evaluation"]["record"]
    keys = evaluation.get("evaluator_keys", {})
    for seat in data["panel"]:
        signature = seat.get("report_signature")
        if signature is None:
            continue
        key = keys.get(seat["seat"])
        problems += report_signature_problems(
            signature, tender=data["tender"], evaluator_id=seat["seat"],
            public_key=None if key is None else base64.b64decode(key),
            evaluation_record=evaluation)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tenders.verify",
                                     description="Verify a tender's audit bundle offline.")
    parser.add_argument("bundle", help="the bundle file (JSON)")
    parser.add_argument("--site-key", help="the site's public key (base64) as it publishes it")
    args = parser.parse_args(argv)
    with open(args.bundle, encoding="utf-8") as handle:
        data = json.load(handle)
    problems = verify_bundle(data, base64.b64decode(args.site_key) if args.site_key else None)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if not problems:
        opened = data["opening"]["record"]
        signed = sum(1 for p in data["panel"] if p.get("report_signature"))
        print(f"OK: tender {data['tender']}: {len(opened['bids'])} bids re-opened"
              + (f"; sheets re-opened and the evaluation recomputed; {signed} evaluators' "
                 "signatures under the report verified" if data.get("evaluation") else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
