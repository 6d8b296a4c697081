"""How plain replies are read: clauses, negation and its scope, hedges, numbers, corrections,
what people call each option, typos. Each phenomenon with its own examples.

FIRM: read and kept as said. CONFIRM: read, and echoed for the team to confirm (the reading
is what the test gives). UNSURE: the reply says the team does not know (fields left "not
sure"). FAIL: nothing readable, asked once more.
"""

from __future__ import annotations

from typing import Any

import pytest

from graph.answers import parse_answer
from graph.profile import LADDER, Rung
from graph.questions import spec
from graph.reading.numbers import numbers, spell_out
from graph.reading.text import Reply, norm, prepare
from graph.reading.typos import mend

FIRM, CONFIRM, UNSURE, FAIL = "firm", "confirm", "unsure", "fail"
TRIED = "techniques_tried"
ALL_RUNGS = [r.value for r in LADDER if r is not Rung.fine_tuning]


def read(question_id: str, text: str, fields: list[str] | None = None) -> tuple[str, Any]:
    parsed = parse_answer(spec(question_id), text, fields=fields)
    if not parsed.ok:
        assert parsed.hint and not parsed.values
        return FAIL, parsed.hint
    if parsed.skipped:
        return UNSURE, parsed.unsure
    return (CONFIRM if parsed.confirm else FIRM), parsed.values


def check(question_id: str, text: str, how: str, values: Any) -> None:
    got_how, got = read(question_id, text)
    assert (got_how, got) == (how, values), text


# --- negation and its scope ---------------------------------------------------------------

NEGATION = [
    # a negator before the word, in its clause
    ("tried", "we haven't touched retrieval", CONFIRM, {TRIED: []}),
    (
        "tried",
        "prompting with rules only, we never added examples",
        CONFIRM,
        {TRIED: ["system_prompt"]},
    ),
    # "not X, not Y" and "no X, no Y": each its own
    (
        "problems",
        "not the speed, not the bill: it invents product specs",
        CONFIRM,
        {"problems": ["hallucination"]},
    ),
    # a negation running on through a list ("never bothered with X or Y")
    (
        "tried",
        "json mode yes; never got round to cot or embeddings",
        CONFIRM,
        {TRIED: ["structured_output"]},
    ),
    (
        "tried",
        "only the system prompt. no few-shot, nor any retrieval",
        CONFIRM,
        {TRIED: ["system_prompt"]},
    ),
    # after the word: "X: no", "X isn't something we tried", "X is on the roadmap"
    ("tried", "few-shot: yes. rag: no", CONFIRM, {TRIED: ["few_shot"]}),
    (
        "tried",
        "few shot examples, and vector search is on the roadmap",
        CONFIRM,
        {TRIED: ["few_shot"]},
    ),
    # "X but not Y"
    (
        "problems",
        "answers vary from run to run but not too slow",
        CONFIRM,
        {"problems": ["inconsistent"]},
    ),
    # "everything except X", "all but N", "only N"
    (
        "tried",
        "everything apart from chain of thought",
        CONFIRM,
        {TRIED: [r for r in ALL_RUNGS if r != "chain_of_thought"]},
    ),
    ("tried", "all but 7", FIRM, {TRIED: ALL_RUNGS[:6]}),
    ("problems", "only 3", FIRM, {"problems": ["wrong_format"]}),
    # a clause that only retracts the one before ("1? no.")
    (
        "constraints",
        "4? no. 1 and 6",
        CONFIRM,
        {
            "latency_critical": True,
            "cost_pressure": False,
            "regulated": False,
            "brand_voice": False,
            "human_review": False,
            "deployment": "private_cloud",
        },
    ),
    # a topic word is negated by a verdict after it, not by "doesn't" before it
    (
        "problems",
        "the tone is fine, but the structure breaks constantly",
        CONFIRM,
        {"problems": ["wrong_format"]},
    ),
    ("problems", "it doesn't get the json right", CONFIRM, {"problems": ["wrong_format"]}),
    (
        "problems",
        "latency and price are both ok, it just fabricates citations",
        CONFIRM,
        {"problems": ["hallucination"]},
    ),
    # a negated yes/no
    ("cleared", "compliance hasn't approved it", CONFIRM, {"data_cleared": False}),
    ("stable", "I don't expect the labels to change", CONFIRM, {"task_stable": True}),
]


@pytest.mark.parametrize(("qid", "text", "how", "values"), NEGATION)
def test_negation_is_read_with_its_scope(qid: str, text: str, how: str, values: Any) -> None:
    check(qid, text, how, values)


# --- hedges: confirmed, never taken as firm ---------------------------------------------------

HEDGES = [
    ("stable", "probably?", CONFIRM, {"task_stable": True}),
    ("stable", "largely, I'd think", CONFIRM, {"task_stable": True}),
    ("cleared", "I believe so", CONFIRM, {"data_cleared": True}),
    ("stakes", "4 maybe, the auditors would be on us", CONFIRM, {"error_cost": "critical"}),
    (
        "examples",
        "perhaps 700, reasonably consistent I suppose",
        CONFIRM,
        {"labeled_examples": 700, "labels_clean": True},
    ),
    ("owner", "possibly the analytics guild", CONFIRM, {"retraining_owner": "the analytics guild"}),
    ("task", "kind of a summarisation job", CONFIRM, {"task_type": "summarization"}),
]


@pytest.mark.parametrize(("qid", "text", "how", "values"), HEDGES)
def test_a_hedge_is_confirmed_not_taken_as_firm(qid: str, text: str, how: str, values: Any) -> None:
    check(qid, text, how, values)


def test_a_hedged_field_is_marked_so_it_is_never_kept_unconfirmed() -> None:
    parsed = parse_answer(spec("examples"), "roughly 900, mostly de-duplicated")
    assert parsed.values == {"labeled_examples": 900, "labels_clean": True}
    assert parsed.confirm and parsed.doubtful == ["labels_clean"]


# --- not knowing -----------------------------------------------------------------------------

DONT_KNOW = [
    ("cleared", "haven't a clue, never raised it with legal", UNSURE, ["data_cleared"]),
    (
        "knowledge",
        "it needs the rate card, no idea how often that's revised",
        UNSURE,
        ["knowledge_changes"],
    ),
    ("stable", "who knows", UNSURE, []),
]


@pytest.mark.parametrize(("qid", "text", "how", "fields"), DONT_KNOW)
def test_not_knowing_leaves_the_field_not_sure(qid: str, text: str, how: str, fields: Any) -> None:
    check(qid, text, how, fields)


def test_not_knowing_one_part_keeps_the_rest() -> None:
    parsed = parse_answer(spec("usage"), "roughly 3k per week, token counts no idea")
    assert parsed.values == {"monthly_volume": 13_000}
    assert parsed.unsure == ["avg_input_tokens", "avg_output_tokens"] and not parsed.missing
    parsed = parse_answer(spec("examples"), "1,100 pairs, can't say whether they agree")
    assert parsed.values == {"labeled_examples": 1100} and parsed.unsure == ["labels_clean"]


# --- numbers in every common shape -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "pct"),
    [
        ("73,25 %", 73.25, True),  # a decimal comma
        ("ca. 4.500", 4500, False),  # a thousands dot
        ("12 500", 12500, False),  # a space between thousands
        ("1,250", 1250, False),
        ("2.5k", 2500, False),
        ("3,5k", 3500, False),
        ("0.4m", 400_000, False),
        ("2 lakh", 200_000, False),
        ("1 crore", 10_000_000, False),
        ("seventy-five thousand", 75_000, False),
        ("nine hundred and fifty", 950, False),
        ("two thirds", 67, True),
        ("nine out of ten", 90, True),
        ("one in four", 25, True),
        ("~90ish", 90, False),
        ("4-6k", 4000, False),  # a range: the lower end
        ("between 1,200 and 1,500", 1200, False),
        ("from 60 to 80 percent", 60, True),
    ],
)
def test_numbers_are_read_in_every_common_shape(text: str, value: float, pct: bool) -> None:
    found = numbers(spell_out(norm(text)))
    assert [(round(n.value, 2), n.pct) for n in found][:1] == [(value, pct)], text


def test_a_change_from_one_number_to_another_is_two_numbers_not_a_range() -> None:
    found = numbers(norm("we went from 70% to 84%"))
    assert [n.value for n in found] == [70, 84]


VOLUMES = [
    ("roughly 400 per weekday, 900 in, 120 out", 12_000),
    ("~2,000 every week", 8667),
    ("60k a year", 5000),
    ("about 50 an hour", 36_000),
    ("1.5 lakh requests daily", 4_500_000),
]


@pytest.mark.parametrize(("text", "volume"), VOLUMES)
def test_volumes_per_day_week_year_or_hour_become_a_month(text: str, volume: int) -> None:
    _, values = read("usage", text)
    assert values["monthly_volume"] == volume


def test_a_range_is_read_at_its_lower_end_never_overstated() -> None:
    assert read("examples", "150-250 hand-checked pairs")[1]["labeled_examples"] == 150
    assert read("eval", "between 80 and 120 cases, at 70-75%, need 90")[1] == {
        "eval_set_size": 80,
        "baseline_score": 0.7,
        "target_score": 0.9,
    }


def test_vague_amounts_are_read_low_and_confirmed() -> None:
    assert read("examples", "a couple thousand, clean") == (
        CONFIRM,
        {"labeled_examples": 2000, "labels_clean": True},
    )


def test_a_year_is_not_a_count() -> None:
    assert read("examples", "about 900, collected since 2021, consistent")[1] == {
        "labeled_examples": 900,
        "labels_clean": True,
    }


def test_unlabelled_data_is_not_labelled_examples() -> None:
    how, values = read("examples", "maybe 40k raw emails but nobody has labelled any")
    assert (how, values["labeled_examples"]) == (CONFIRM, 0)


# --- option numbers mixed with words, ranges of options ------------------------------------------


def test_option_numbers_mixed_with_words() -> None:
    assert read("problems", "6 and 8, plus it doesn't know our product names") == (
        CONFIRM,
        {"problems": ["missing_knowledge", "too_slow", "accuracy_plateau"]},
    )
    assert read("stakes", "so I'd go with 3, churn risk") == (FIRM, {"error_cost": "high"})


def test_a_range_of_option_numbers_picks_each() -> None:
    assert read("tried", "2-4") == (
        FIRM,
        {TRIED: ["few_shot", "structured_output", "chain_of_thought"]},
    )
    assert read("tried", "1 to 3") == (
        FIRM,
        {TRIED: ["system_prompt", "few_shot", "structured_output"]},
    )


# --- self-corrections ---------------------------------------------------------------------------

CORRECTIONS = [
    ("tried", "3 and 5, actually only 3", CONFIRM, {TRIED: ["structured_output"]}),
    ("tried", "cot, few-shot, oh wait, scratch cot", CONFIRM, {TRIED: ["few_shot"]}),
    ("problems", "slow and pricey, sorry, not pricey", CONFIRM, {"problems": ["too_slow"]}),
    (
        "usage",
        "about 90k a month, no wait, that's a week. so 390k a month, 700 in, 40 out",
        CONFIRM,
        {"monthly_volume": 390_000, "avg_input_tokens": 700, "avg_output_tokens": 40},
    ),
    (
        "eval",
        "300 items, 71% now, need 85%. correction: 76% on the newest prompt, 71 was the old one",
        CONFIRM,
        {"eval_set_size": 300, "baseline_score": 0.76, "target_score": 0.85},
    ),
]


@pytest.mark.parametrize(("qid", "text", "how", "values"), CORRECTIONS)
def test_a_self_correction_replaces_what_it_corrects(
    qid: str, text: str, how: str, values: Any
) -> None:
    check(qid, text, how, values)


def test_the_first_n_things_mentioned() -> None:
    assert read("tried", "few-shot and json schema and a pipeline. wait, just the first two")[
        1
    ] == {TRIED: ["few_shot", "structured_output"]}


# --- what people call each option ----------------------------------------------------------------

VOCABULARY = [
    ("tried", "we use a response schema", {TRIED: ["structured_output"]}),
    ("tried", "function calling to force the shape", {TRIED: ["structured_output"]}),
    ("tried", "a chain of prompts: classify first, then extract", {TRIED: ["decomposition"]}),
    ("tried", "split it into three calls", {TRIED: ["decomposition"]}),
    ("tried", "semantic search over the wiki", {TRIED: ["rag"]}),
    ("tried", "let it reason step by step", {TRIED: ["chain_of_thought"]}),
    ("tried", "moved from haiku to opus", {TRIED: ["bigger_model"]}),
    ("problems", "you get a different summary every run", {"problems": ["inconsistent"]}),
    ("problems", "it makes up facts about our catalogue", {"problems": ["hallucination"]}),
    ("problems", "it knows nothing about our current pricing", {"problems": ["missing_knowledge"]}),
    ("problems", "sounds like a press release, not like us", {"problems": ["off_voice"]}),
    ("problems", "won't answer perfectly safe questions", {"problems": ["refuses_harmless"]}),
    ("problems", "takes forever at peak", {"problems": ["too_slow"]}),
    # a hallucination described by what it invents, a gap by what it is out of date on
    ("problems", "lists side effects that aren't in the leaflet", {"problems": ["hallucination"]}),
    ("problems", "cites sections not in the contract", {"problems": ["hallucination"]}),
    ("problems", "keeps quoting prices we changed in may", {"problems": ["missing_knowledge"]}),
    ("problems", "the facts it needs aren't in the prompt", {"problems": ["missing_knowledge"]}),
]


@pytest.mark.parametrize(("qid", "text", "values"), VOCABULARY)
def test_options_are_read_by_what_people_call_them(qid: str, text: str, values: Any) -> None:
    assert read(qid, text) == (CONFIRM, values)  # words for a list: shown, then kept


@pytest.mark.parametrize(
    ("qid", "text", "values"),
    [
        ("knowledge", "yes, the menu changes every sprint", {"knowledge_changes": "often"}),
        (
            "knowledge",
            "the tariff sheet gets revised twice a year",
            {"knowledge_changes": "rarely"},
        ),
        ("knowledge", "nope, the form itself has everything", {"knowledge_changes": "none"}),
        ("task", "we turn legacy COBOL copybooks into JSON", {"task_type": "transformation"}),
        # a task told by its verb, with an aside in brackets in the middle
        (
            "task",
            "grabbing the dates and amounts (due date, total, VAT, iban) off supplier invoices",
            {"task_type": "extraction"},
        ),
        ("task", "we fill the ERP form from scanned delivery notes", {"task_type": "extraction"}),
        ("stakes", "it's a minor annoyance, people retry", {"error_cost": "low"}),
        ("stable", "nope, the taxonomy keeps evolving", {"task_stable": False}),
    ],
)
def test_a_single_choice_described_in_words(qid: str, text: str, values: Any) -> None:
    how, got = read(qid, text)
    assert got == values and how in (FIRM, CONFIRM)


def test_unknown_words_never_become_a_value() -> None:
    assert read("problems", "the weather in Lisbon")[0] == FAIL
    assert read("tried", "we bought a new espresso machine")[0] == FAIL
    assert read("task", "blue")[0] == FAIL
    # a gap in the documents is not the model making things up
    assert read("problems", "the answer isn't in the docs")[0] == FAIL


def test_an_exact_list_of_option_names_is_firm() -> None:
    assert read("tried", "system prompt, few-shot and structured output") == (
        FIRM,
        {TRIED: ["system_prompt", "few_shot", "structured_output"]},
    )
    assert read("problems", "nothing built yet") == (FIRM, {"problems": []})


# --- constraints said in words ----------------------------------------------------------------


def test_constraints_said_in_words_are_recorded_even_when_not_asked_for() -> None:
    parsed = parse_answer(
        spec("constraints"), "has to feel instant, it's a live chat; an editor reads every reply"
    )
    assert parsed.confirm
    assert parsed.values["latency_critical"] is True and parsed.values["human_review"] is True
    assert parsed.values["deployment"] == "hosted_api"


def test_an_unsure_constraint_is_left_not_sure() -> None:
    parsed = parse_answer(spec("constraints"), "budget is tight. maybe counts as regulated? unsure")
    assert parsed.values["cost_pressure"] is True and "regulated" not in parsed.values
    assert parsed.unsure == ["regulated"]


# --- clauses, typos, emoji ----------------------------------------------------------------------


def test_an_emoji_ends_a_thought() -> None:
    reply = Reply.of(norm(prepare("only the sys prompt 🙈 never tried few-shot")))
    assert len(reply.clauses) == 2


def test_a_leading_yes_or_no_does_not_negate_what_follows() -> None:
    assert read("stable", "no we are reworking the categories")[1] == {"task_stable": False}
    assert read("knowledge", "nah everything's on the request")[1] == {"knowledge_changes": "none"}


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("inconsitent", "inconsistent"), ("retreival", "retrieval"), ("halucinates", "hallucinates")],
)
def test_typos_in_the_words_that_matter_are_mended(typed: str, meant: str) -> None:
    assert mend(typed) == meant


@pytest.mark.parametrize("word", ["formal", "models", "mostly", "police", "chance"])
def test_real_words_are_never_mended_into_others(word: str) -> None:
    assert mend(word) == word


def test_a_typo_still_reads() -> None:
    assert read("problems", "answers are inconsitent")[1] == {"problems": ["inconsistent"]}


# --- more shapes people type -------------------------------------------------------------------


def test_a_typical_rate_counts_over_a_peak_and_is_confirmed() -> None:
    how, values = read("usage", "spikes to 40 rps, average 6 rps; ~900 tokens in, 50 out")
    assert how == CONFIRM and values["monthly_volume"] == 6 * 2_592_000


def test_a_nightly_batch_is_a_daily_volume() -> None:
    assert read("usage", "a batch of 8,000 files every night, 1k in, 200 out")[1] == {
        "monthly_volume": 240_000,
        "avg_input_tokens": 1000,
        "avg_output_tokens": 200,
    }


def test_a_bulleted_reply_reads_bullet_by_bullet() -> None:
    assert read("eval", "- nope\n- we spot-check by hand")[1] == {"eval_set_size": 0}
    assert read("tried", "- prompt\n- some few-shot\n- that's all")[1] == {
        TRIED: ["system_prompt", "few_shot"]
    }


@pytest.mark.parametrize(
    ("qid", "text", "values"),
    [
        ("tried", "everything short of retrieval", {TRIED: [r for r in ALL_RUNGS if r != "rag"]}),
        (
            "eval",
            "200 cases, 66% today, we'd be happy at 80",
            {"eval_set_size": 200, "baseline_score": 0.66, "target_score": 0.8},
        ),
        ("stakes", "regulator fines, so it is 4", {"error_cost": "critical"}),
        ("problems", "it's $$$ and slow", {"problems": ["too_slow", "too_expensive"]}),
    ],
)
def test_more_shapes(qid: str, text: str, values: Any) -> None:
    assert read(qid, text)[1] == values


def test_a_voice_bot_is_not_a_brand_voice() -> None:
    parsed = parse_answer(spec("constraints"), "sub-second, it's a voice bot")
    assert parsed.values["latency_critical"] is True and parsed.values["brand_voice"] is False


def test_none_that_i_know_of_ticks_nothing() -> None:
    parsed = parse_answer(spec("constraints"), "none that I know of")
    assert not any(v for k, v in parsed.values.items() if k != "deployment")


@pytest.mark.parametrize(
    ("qid", "text", "values"),
    [
        # an option number with "only" after it
        ("stakes", "2 only, a person redoes it", {"error_cost": "medium"}),
        # "about" holds the letters "out": it is not the output count
        (
            "usage",
            "roughly 30k runs per month, about 900 tokens in and 40 out",
            {"monthly_volume": 30000, "avg_input_tokens": 900, "avg_output_tokens": 40},
        ),
        # agreement between annotators is how clean labels are told
        ("examples", "8k tickets, double annotated, kappa 0.9", None),
        ("task", "it drops each ticket into one of 11 buckets", {"task_type": "classification"}),
    ],
)
def test_everyday_shapes_of_an_answer(qid: str, text: str, values: Any) -> None:
    how, got = read(qid, text)
    assert how in (FIRM, CONFIRM), got
    if values is not None:
        assert got == values
    else:
        assert got == {"labeled_examples": 8000, "labels_clean": True}


@pytest.mark.parametrize("text", ["5k labelled, kappa 0.45", "5k labelled, poor agreement"])
def test_low_agreement_is_not_clean(text: str) -> None:
    assert read("examples", text)[1]["labels_clean"] is False


@pytest.mark.parametrize(
    "text", ["no clue yet, ask me after the reorg", "not sure yet, we'll see in Q3"]
)
def test_an_owner_reply_that_names_no_one_is_not_a_name(text: str) -> None:
    assert read("owner", text) == (UNSURE, ["retraining_owner"])


def test_an_unsure_owner_reply_that_names_a_team_keeps_the_team_hedged() -> None:
    assert read("owner", "not sure, maybe the platform team") == (
        CONFIRM,
        {"retraining_owner": "the platform team"},
    )


@pytest.mark.parametrize(
    ("qid", "text", "values"),
    [
        # "mln" (Polish, Italian, Dutch) and a decimal comma, per day
        ("usage", "2,5 mln requests a day, 300 in, 10 out", {"monthly_volume": 75_000_000}),
        ("task", "gen. product blurbs", {"task_type": "generation"}),
        ("usage", "ca. 12'000 calls a month, 1'200 in, 40 out", {"monthly_volume": 12_000}),
        # a rate per shift (weekend, batch) times the shifts in a day (week, month)
        (
            "usage",
            "40 tickets per shift, 2 shifts a day, 800 in, 30 out",
            {"monthly_volume": 2_400},
        ),
        ("examples", "9k labelled cases, QA'd every quarter", {"labels_clean": True}),
        ("task", "it pulls the line items into our ERP booking form", {"task_type": "extraction"}),
        (
            "task",
            "it assigns the right tariff code to each shipment",
            {"task_type": "classification"},
        ),
        # question answering told as what people do with it
        (
            "task",
            "drivers send questions (can I park at dock 4? where's the manual?) and it answers",
            {"task_type": "question_answering"},
        ),
        ("eval", "40 configs with known-good output, 60% pass, want 90", {"eval_set_size": 40}),
    ],
)
def test_more_shapes_of_a_number_or_a_name(qid: str, text: str, values: dict[str, Any]) -> None:
    how, got = read(qid, text)
    assert how in (FIRM, CONFIRM) and values.items() <= got.items(), got


@pytest.mark.parametrize(
    "text",
    [
        "no idea how many, the old team kept them somewhere",
        "people fix them all the time, but I couldn't tell you how many or how clean they are",
    ],
)
def test_not_knowing_how_many_is_not_zero_and_not_clean(text: str) -> None:
    parsed = parse_answer(spec("examples"), text)
    assert "labeled_examples" not in parsed.values
    assert "labels_clean" not in parsed.values


def test_a_range_is_shown_to_confirm_at_its_lower_end() -> None:
    parsed = parse_answer(spec("eval"), "300 cases, 60-70% right, need 90")
    assert parsed.values["baseline_score"] == 0.6 and parsed.confirm
    assert "baseline_score" in parsed.doubtful
