"""The whole evaluation: totals, ranking and its tie-break chain, shortlist, failure, JSON."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tenders import (
    TIE_BREAK_CHAIN,
    InvalidSheetError,
    OpenedBid,
    Outcome,
    ScoreSheet,
    TenderError,
    TieResolution,
    TieResolutionError,
    evaluate,
    rank_bids,
    recompute,
    result_json,
    sheet_from_plaintext,
)
from tenders.scoring import BidResult, PriceScore

D = Decimal

# Five evaluators, three bids, lowest-price formula; every figure below is worked by hand.
#   plan  B1: 30 32 35 28 40 → drop E4 28, E5 40 → 97 / 3 = 32.333… → 32.33
#         B2: 25 25 26 30 20 → drop E5 20, E4 30 → 76 / 3 = 25.333… → 25.33
#         B3: 38 36 37 39 35 → drop E5 35, E4 39 → 111 / 3 → 37.00
#   staff B1: 20 ×5          → drop E1 (first lowest), E5 (last highest) → 20.00
#         B2: 21.5 22 22.5 23 24 → drop E1, E5 → 67.5 / 3 → 22.50
#         B3: 25 26 27 28 29.99  → drop E1, E5 → 81 / 3 → 27.00
#   price benchmark 80000 (B2): B1 80000/100000 × 30 = 24.00; B2 30.00; B3 × 0.64 = 19.20
#   totals B1 76.33, B2 77.83, B3 83.20 → B3, B2, B1
TABLE = {
    "B1": {"plan": [30, 32, 35, 28, 40], "staff": [20, 20, 20, 20, 20]},
    "B2": {"plan": [25, 25, 26, 30, 20], "staff": ["21.5", 22, "22.5", 23, 24]},
    "B3": {"plan": [38, 36, 37, 39, 35], "staff": [25, 26, 27, 28, "29.99"]},
}


@pytest.fixture
def small(make_rules):
    return make_rules(panel_size=5, minimum_bidders=3)


@pytest.fixture
def worked(small, make_bids, make_sheets):
    return evaluate(small, make_bids(["100000", "80000", "125000"]), make_sheets(TABLE))


def test_hand_checked_evaluation(worked):
    assert worked.outcome is Outcome.EVALUATED
    assert worked.benchmark is not None
    assert worked.benchmark.value == D(80000)
    rows = {r.bid.bid_id: r for r in worked.ranking}
    assert [(c.criterion, c.average) for c in rows["B1"].criteria] == [
        ("plan", D("32.33")), ("staff", D("20.00"))
    ]
    assert [c.average for c in rows["B2"].criteria] == [D("25.33"), D("22.50")]
    assert [c.average for c in rows["B3"].criteria] == [D("37.00"), D("27.00")]
    assert {b: r.price.score for b, r in rows.items()} == {
        "B1": D("24.00"), "B2": D("30.00"), "B3": D("19.20")
    }
    assert {b: r.total for b, r in rows.items()} == {
        "B1": D("76.33"), "B2": D("77.83"), "B3": D("83.20")
    }
    assert rows["B2"].criteria_sum == D("47.83")
    assert [(r.bid.bid_id, r.rank, r.decided_by) for r in worked.ranking] == [
        ("B3", 1, None), ("B2", 2, "total"), ("B1", 3, "total")
    ]
    assert worked.shortlist == ("B3", "B2", "B1")
    assert worked.ties == ()
    assert worked.blockers == ()


def test_the_report_shows_which_scores_were_dropped(worked):
    plan_b1 = next(r for r in worked.ranking if r.bid.bid_id == "B1").criteria[0]
    assert plan_b1.trim.dropped_low == ("E4", D(28))
    assert plan_b1.trim.dropped_high == ("E5", D(40))
    assert [e.source for e in plan_b1.trim.kept] == ["E1", "E2", "E3"]
    assert plan_b1.trim.kept_sum == D(97)
    data = json.loads(result_json(worked))
    plan = data["ranking"][2]["criteria"][0]
    assert plan == {
        "criterion": "plan", "average": "32.33", "kept": [["E1", "30"], ["E2", "32"],
                                                          ["E3", "35"]],
        "dropped_low": ["E4", "28"], "dropped_high": ["E5", "40"], "kept_sum": "97",
        "kept_count": 3,
    }


def test_a_shortlist_of_two(make_rules, make_bids, make_sheets):
    rules = make_rules(panel_size=5, minimum_bidders=3, shortlist_size=2)
    result = evaluate(rules, make_bids(["100000", "80000", "125000"]), make_sheets(TABLE))
    assert result.shortlist == ("B3", "B2")


def test_the_order_of_bids_and_sheets_does_not_matter(small, make_bids, make_sheets):
    bids, sheets = make_bids(["100000", "80000", "125000"]), make_sheets(TABLE)
    expected = result_json(evaluate(small, bids, sheets))
    rng = random.Random(6)
    for _ in range(5):
        rng.shuffle(bids)
        rng.shuffle(sheets)
        assert result_json(evaluate(small, bids, sheets)) == expected


# -- the minimum number of valid bids -------------------------------------------------------------


def test_exactly_the_minimum_of_valid_bids_is_evaluated(make_rules, make_bids, uniform_sheets):
    bids = make_bids(["100", "101", "102", "103", "104", "105"], B6="no licence")
    result = evaluate(make_rules(), bids, uniform_sheets(["B1", "B2", "B3", "B4", "B5"]))
    assert result.outcome is Outcome.EVALUATED
    assert [r.bid.bid_id for r in result.ranking] == ["B1", "B2", "B3", "B4", "B5"]


def test_one_valid_bid_fewer_than_the_minimum_fails_with_the_reason(make_rules, make_bids):
    bids = make_bids(["100", "101", "102", "103", "104"], B2="no licence")
    result = evaluate(make_rules(), bids, [])
    assert result.outcome is Outcome.FAILED
    assert result.failure_reason == (
        "the tender failed: 4 valid bids after review, but the tender file requires at least 5; "
        "the tender must be held again"
    )
    assert result.ranking == ()
    assert result.shortlist == ()
    assert json.loads(result_json(result))["outcome"] == "failed"


def test_a_disqualified_bid_sets_no_benchmark_and_is_not_scored(make_rules, make_bids,
                                                                  uniform_sheets):
    bids = make_bids(["50", "100", "101", "102", "103", "104"], B1="price below cost")
    result = evaluate(make_rules(), bids, uniform_sheets(["B2", "B3", "B4", "B5", "B6"]))
    assert result.benchmark is not None
    assert result.benchmark.value == D(100)
    scored_b1 = evaluate(make_rules(), bids, uniform_sheets(["B1", "B2", "B3", "B4", "B5", "B6"]))
    assert all("scores unknown bid B1" in p[0] for p in scored_b1.invalid_sheets.values())
    assert scored_b1.outcome is Outcome.FAILED  # every sheet scored the disqualified bid


# -- sheets as a set ------------------------------------------------------------------------------


def test_the_sheets_must_match_the_panel(small, make_bids, make_sheets):
    bids = make_bids(["100000", "80000", "125000"])
    sheets = make_sheets(TABLE)
    with pytest.raises(InvalidSheetError, match="panel of 5; 4 sheets were opened"):
        evaluate(small, bids, sheets[:4])
    with pytest.raises(InvalidSheetError, match="two sheets from evaluator E1"):
        evaluate(small, bids, [*sheets[:4], replace(sheets[4], evaluator_id="E1")])
    with pytest.raises(InvalidSheetError) as caught:
        evaluate(small, bids, sheets, active_evaluators=["E1", "E2", "E3", "E4", "E6"])
    assert caught.value.problems == (
        "no sheet from active evaluator E6",
        "sheet from E5, who is not an active panel member",
    )


def test_every_faulty_sheet_is_named_and_not_scored(small, make_bids, make_sheets):
    """An out-of-range or incomplete sheet (sealed in the browser, so first read at the
    opening) is recorded as invalid with every reason, and none of its scores counts."""
    sheets = make_sheets(TABLE)
    sheets[1] = ScoreSheet("E2", {**sheets[1].scores, "B1": {"plan": 41, "staff": 20}})
    sheets[3] = ScoreSheet("E4", {b: v for b, v in sheets[3].scores.items() if b != "B3"})
    result = evaluate(small, make_bids(["100000", "80000", "125000"]), sheets)
    assert result.invalid_sheets == {
        "E2": ("sheet of evaluator E2, bid B1, criterion 'plan': 41 is outside the range 0–40 "
               "of criterion 'plan' (服务方案)",),
        "E4": ("sheet of evaluator E4 has no scores for bid B3",),
    }
    # Three valid sheets (E1, E3, E5): nothing dropped; B3 plan (38 + 37 + 35) / 3 = 36.67.
    b3 = next(r for r in result.ranking if r.bid.bid_id == "B3")
    plan = next(c for c in b3.criteria if c.criterion == "plan")
    assert plan.average == D("36.67")
    assert [e.source for e in plan.trim.kept] == ["E5", "E3", "E1"]
    assert json.loads(result_json(result))["invalid_sheets"]["E4"] == [
        "sheet of evaluator E4 has no scores for bid B3"]
    assert result_json(recompute(json.loads(result_json(result)))) == result_json(result)


def test_a_sheet_refused_at_the_opening_counts_as_submitted_but_not_scored(
        small, make_bids, make_sheets):
    sheets = make_sheets(TABLE)
    result = evaluate(small, make_bids(["100000", "80000", "125000"]), sheets[:4],
                      refused_sheets={"E5": ["sheet of evaluator E5 is not readable JSON"]})
    assert result.outcome is Outcome.EVALUATED
    assert result.invalid_sheets == {"E5": ("sheet of evaluator E5 is not readable JSON",)}
    assert result_json(recompute(json.loads(result_json(result)))) == result_json(result)
    every = {f"E{i}": ["unreadable"] for i in range(1, 6)}
    failed = evaluate(small, make_bids(["100000", "80000", "125000"]), [], refused_sheets=every)
    assert failed.outcome is Outcome.FAILED
    assert "no valid score sheet" in failed.failure_reason


def test_a_sealed_sheet_is_read_only_as_text_for_its_own_seat():
    at = datetime(2025, 6, 1, tzinfo=UTC)
    good = json.dumps({"evaluator_id": "E1", "scores": {"B1": {"plan": "30.5"}}}).encode()
    sheet, problems = sheet_from_plaintext("E1", at, good)
    assert problems == ()
    assert sheet.score("B1", "plan") == D("30.5")
    assert sheet_from_plaintext("E2", at, good)[1] == (
        "sheet of evaluator E2 was sealed for evaluator 'E1'",)
    numbers = json.dumps({"evaluator_id": "E1", "scores": {"B1": {"plan": 30.5}}}).encode()
    assert "written as text" in sheet_from_plaintext("E1", at, numbers)[1][0]
    assert sheet_from_plaintext("E1", at, b"\xff")[1] == (
        "sheet of evaluator E1 is not readable JSON",)


# -- ties -----------------------------------------------------------------------------------------


def scored(bid_id, total, price_score, price, minute):
    """A scored bid with just what the ranking reads."""
    start = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    bid = OpenedBid(bid_id, f"C-{bid_id}", D(price), start + timedelta(minutes=minute))
    return BidResult(bid, (), PriceScore(D(price), None, D(price_score)), D(total) - D(price_score),
                     D(total))


def test_the_tie_break_chain_in_order():
    """Equal totals: higher price score, then lower price, then earlier submission."""
    results = [
        scored("A", "80.00", "20.00", "100", 0),
        scored("B", "80.00", "25.00", "120", 0),  # higher price score
        scored("C", "80.00", "20.00", "90", 5),  # lower price than A
        scored("D", "80.00", "20.00", "90", 1),  # same price as C, earlier
        scored("E", "90.00", "10.00", "500", 9),  # higher total
    ]
    ranking, ties = rank_bids(results)
    assert [(r.bid.bid_id, r.rank, r.decided_by) for r in ranking] == [
        ("E", 1, None), ("B", 2, "total"), ("D", 3, "price_score"), ("C", 4, "submitted_at"),
        ("A", 5, "price"),
    ]
    assert ties == ()
    assert TIE_BREAK_CHAIN == ("total", "price_score", "price", "submitted_at", "committee")


def test_bids_equal_on_the_whole_chain_share_a_rank_and_are_reported():
    results = [scored("A", "80", "20", "100", 0), scored("B", "80", "20", "100", 0),
               scored("C", "70", "20", "100", 0)]
    ranking, ties = rank_bids(results)
    assert [(r.bid.bid_id, r.rank) for r in ranking] == [("A", 1), ("B", 1), ("C", 3)]
    assert ties == (("A", "B"),)
    ranking, ties = rank_bids(results, [TieResolution(("B", "A"), "negotiated service terms")])
    assert [(r.bid.bid_id, r.rank, r.decided_by) for r in ranking] == [
        ("B", 1, None), ("A", 2, "committee"), ("C", 3, "total")
    ]
    assert ties == ()


@pytest.mark.parametrize(
    "resolution",
    [TieResolution(("A", "C"), "x"), TieResolution(("A", "B", "C"), "x"),
     TieResolution(("A", "A"), "x")],
)
def test_a_resolution_must_match_a_reported_tie(resolution):
    results = [scored("A", "80", "20", "100", 0), scored("B", "80", "20", "100", 0),
               scored("C", "70", "20", "100", 0)]
    with pytest.raises(TieResolutionError):
        rank_bids(results, [resolution])


def test_an_unresolved_tie_in_the_shortlist_blocks_it(make_rules, make_bids, uniform_sheets):
    """Identical prices, scores and submission times: the software never draws lots."""
    bids = make_bids(["100", "100", "120", "130", "140"])
    bids[1] = replace(bids[1], submitted_at=bids[0].submitted_at)
    sheets = uniform_sheets(["B1", "B2", "B3", "B4", "B5"])
    result = evaluate(make_rules(), bids, sheets)
    assert result.ties == (("B1", "B2"),)
    assert result.shortlist == ()
    assert [b.code for b in result.blockers] == ["unresolved_tie"]
    assert "the committee must decide their order" in result.blockers[0].message
    resolved = evaluate(make_rules(), bids, sheets,
                        tie_resolutions=[TieResolution(("B2", "B1"), "better references")])
    assert resolved.shortlist == ("B2", "B1", "B3")
    assert resolved.blockers == ()


def test_a_tie_below_the_shortlist_is_reported_but_does_not_block(make_rules, make_bids,
                                                                  uniform_sheets):
    bids = make_bids(["100", "110", "120", "130", "130"])
    bids[4] = replace(bids[4], submitted_at=bids[3].submitted_at)
    result = evaluate(make_rules(), bids, uniform_sheets(["B1", "B2", "B3", "B4", "B5"]))
    assert result.ties == (("B4", "B5"),)
    assert result.shortlist == ("B1", "B2", "B3")
    assert result.blockers == ()


# -- JSON for the verifier ------------------------------------------------------------------------


def test_result_json_is_canonical_and_recomputes_to_the_same_text(worked):
    text = result_json(worked)
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "." not in json.dumps([v for v in _leaves(data) if not isinstance(v, str)])
    assert data["ranking"][0]["total"] == "83.20"
    assert data["inputs"]["bids"][0]["submitted_at"].endswith("+00:00")
    assert result_json(recompute(data)) == text


def test_a_changed_score_changes_the_recomputed_result(worked):
    data = json.loads(result_json(worked))
    data["inputs"]["sheets"][0]["scores"]["B1"]["plan"] = "31"
    assert result_json(recompute(data)) != result_json(worked)


def test_recompute_refuses_other_documents():
    with pytest.raises(TenderError, match="not a tender evaluation"):
        recompute({"format": "something else"})


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value
