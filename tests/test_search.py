"""Searching the guidance and team documents: natural questions, hostile text, rebuilds."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import knowledge.search as search_module
from knowledge.cards import CARDS_DIR, card_ids
from knowledge.db import open_db
from knowledge.search import (
    add_documents,
    build_index,
    count_passages,
    ensure_index,
    list_documents,
    match_expression,
    search,
    split_sections,
)

HANDBOOK = "Prompt engineering vs fine-tuning"

# A handful of small cards: enough vocabulary overlap that ranking has to work.
CARDS = {
    "gate-clean-examples": (
        "Fine-tuning needs 200+ clean labelled examples",
        ["fine-tuning", "data", "examples"],
        "The handbook sets the floor at 200 clean labelled pairs; 1,000 is better and the "
        "curve flattens after a few thousand.",
    ),
    "lookalike-hallucination": (
        "The model hallucinates: fix it with RAG, not fine-tuning",
        ["hallucination", "grounding"],
        "Retrieve the relevant documents, tell the model to answer only from them, and "
        "measure with an eval.",
    ),
    "privacy-on-prem": (
        "Data that must stay in house",
        ["privacy", "deployment"],
        "A fine-tune can run on your own infrastructure, so regulated or air-gapped teams "
        "keep sensitive records inside.",
    ),
    "cost-stack": (
        "What a fine-tune really costs",
        ["cost", "budget"],
        "Data collection is often the biggest item; training runs cost hundreds of dollars "
        "for small models on managed platforms.",
    ),
    "rung-few-shot": (
        "Few-shot examples in the prompt",
        ["prompting", "few-shot"],
        "Put three to ten input and output pairs in the prompt before reaching for training.",
    ),
}


def write_cards(directory: Path, cards: dict[str, tuple[str, list[str], str]] = CARDS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for id, (title, tags, body) in cards.items():
        (directory / f"{id}.md").write_text(
            f'---\nid: {id}\ntitle: "{title}"\ntags: {tags}\nsources: ["{HANDBOOK}"]\n---\n'
            f"{body}\n",
            encoding="utf-8",
        )
    return directory


@pytest.fixture
def cards_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = write_cards(tmp_path / "cards")
    monkeypatch.setattr(search_module, "CARDS_DIR", directory)
    return directory


@pytest.fixture
def db(cards_dir: Path) -> sqlite_utils.Database:
    database = open_db()
    ensure_index(database)
    return database


def ids(hits: list[search_module.Hit]) -> list[str]:
    return [hit.id for hit in hits]


# ---------------------------------------------------------------- natural questions


def test_a_question_is_searched_for_its_meaningful_words_ored() -> None:
    expression = match_expression("How many examples do we need before we can fine-tune?")
    assert expression is not None
    terms = expression.split(" OR ")
    assert '"examples"' in terms and '"fine-tune"' in terms
    for filler in ('"how"', '"do"', '"we"', '"need"', '"before"', '"can"'):
        assert filler not in terms
    assert " AND " not in expression


def test_a_question_made_only_of_filler_searches_nothing(db: sqlite_utils.Database) -> None:
    assert match_expression("what is it that we should do?") is None
    assert search(db, "what is it that we should do?") == []


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how many examples do we need before fine-tuning?", "gate-clean-examples"),
        ("how much labelled data before we finetune", "gate-clean-examples"),
        ("the bot makes things up", "lookalike-hallucination"),
        ("it keeps making stuff up, what now?", "lookalike-hallucination"),
        ("can we run it on-prem?", "privacy-on-prem"),
        ("we must be self-hosted on premises", "privacy-on-prem"),
        ("is it cheap?", "cost-stack"),
        ("should we use retrieval?", "lookalike-hallucination"),
    ],
)
def test_natural_questions_and_synonyms_find_the_card(
    db: sqlite_utils.Database, question: str, expected: str
) -> None:
    assert ids(search(db, question, k=1)) == [expected]


def test_title_and_tags_weigh_more_than_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = "Filler words about nothing in particular for the sake of equal length."
    directory = write_cards(
        tmp_path / "weights",
        {
            "in-body": ("Unrelated heading", ["misc"], f"Drift happens. {same}"),
            "in-tags": ("Another heading", ["drift"], f"Nothing here. {same}"),
            "in-title": ("Drift", ["misc"], f"Nothing here. {same}"),
        },
    )
    monkeypatch.setattr(search_module, "CARDS_DIR", directory)
    database = open_db()
    ensure_index(database)
    assert ids(search(database, "drift", k=3)) == ["in-title", "in-tags", "in-body"]


def test_a_card_is_found_by_a_question_it_says_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_cards(tmp_path / "asked")
    note = directory / "rung-few-shot.md"
    text = note.read_text(encoding="utf-8")
    note.write_text(
        text.replace("sources:", 'questions: ["can the bot copy a couple of samples?"]\nsources:'),
        encoding="utf-8",
    )
    monkeypatch.setattr(search_module, "CARDS_DIR", directory)
    database = open_db()
    ensure_index(database)
    # "copy" and "samples" appear nowhere in the card but its question.
    assert ids(search(database, "should it copy our samples", k=1)) == ["rung-few-shot"]


def test_a_figure_in_a_question_does_not_outweigh_its_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_cards(
        tmp_path / "numbers",
        {
            "too-few": ("Too few examples memorise", ["examples"], "Tiny training sets overfit."),
            "quoted": ("Accuracy reports", ["accuracy"], "One team reported 80 of them right."),
        },
    )
    monkeypatch.setattr(search_module, "CARDS_DIR", directory)
    database = open_db()
    ensure_index(database)
    assert ids(search(database, "we trained on 80 examples", k=1)) == ["too-few"]


def test_one_rare_word_does_not_outrank_the_question_s_topic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = {
        "data-work": (
            "Where the effort in a fine-tune goes",
            ["data"],
            "Most of the effort goes into labelling and cleaning the data; training itself "
            "is quick.",
        ),
        "pilot": (
            "Assume nothing: run a pilot",
            ["pilot", "assume"],
            "Assume nothing; a small pilot comes before a big launch.",
        ),
    }
    for n in range(8):  # the topic words are common across cards, "assume" is rare
        cards[f"filler-{n}"] = (
            f"Filler {n}",
            ["other"],
            "Training and data and effort and labelling.",
        )
    directory = write_cards(tmp_path / "rare", cards)
    monkeypatch.setattr(search_module, "CARDS_DIR", directory)
    database = open_db()
    ensure_index(database)
    question = "is the effort in labelling the data? i assume so"
    assert ids(search(database, question, k=1)) == ["data-work"]


def test_hits_carry_title_text_sources_and_a_falling_score(db: sqlite_utils.Database) -> None:
    hits = search(db, "fine-tuning examples cost", k=5)
    assert len(hits) >= 2
    assert hits[0].title == CARDS[hits[0].id][0]
    assert hits[0].text == CARDS[hits[0].id][2]
    assert hits[0].sources == [HANDBOOK]
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert set(hits[0].model_dump()) == {"id", "title", "text", "sources", "score"}


def test_k_limits_the_number_of_hits(db: sqlite_utils.Database) -> None:
    assert len(search(db, "fine-tuning prompt data", k=2)) == 2
    assert search(db, "fine-tuning", k=0) == []


def test_search_on_a_fresh_database_builds_the_index_first(cards_dir: Path) -> None:
    assert ids(search(open_db(), "hallucinates", k=1)) == ["lookalike-hallucination"]


@pytest.fixture(scope="module")
def guidance(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    """The real cards, indexed once for the questions below."""
    database = open_db(tmp_path_factory.mktemp("guidance") / "advisor.db")
    build_index(database, CARDS_DIR)
    return database


@pytest.mark.parametrize(
    ("question", "answers"),
    [
        ("our chatbot makes things up about our refund policy", {"lookalike-hallucination"}),
        ("it doesn't know anything about our product", {"lookalike-missing-knowledge"}),
        ("the output JSON is malformed half the time", {"lookalike-wrong-format"}),
        ("what does fine-tuning really cost us?", {"cost-stack", "fine-tuning-compute-cost"}),
        ("at what volume does fine-tuning pay off?", {"break-even", "gate-volume"}),
        ("can we keep customer data on our own servers?", {"privacy-on-prem"}),
        ("what is LoRA?", {"lora-peft"}),
        ("how do we detect drift after we deploy a fine-tuned model?", {"measure-fine-tuned"}),
        (
            "who will retrain the model when the base model is upgraded?",
            {"gate-retraining-owner", "mistake-one-time-investment"},
        ),
        ("small wording changes break our prompt", {"prompt-brittleness"}),
        # chat words for the same ideas: "getting worse" is drift, "routine" and "weird
        # ones" are the standard and edge cases a router splits, "all-in" the whole cost
        ("how would we spot a tuned model getting worse after go-live", {"measure-fine-tuned"}),
        ("weird ones stay on the big model, routine ones on a cheap one", {"hybrid-routing"}),
        ("what does a finetune really cost all-in", {"cost-stack"}),
        (
            "route easy requests to a fine-tuned model and hard ones to prompting",
            {"hybrid-routing"},
        ),
        (
            "how many examples should go in the prompt?",
            {"rung-few-shot", "few-shot-example-counts"},
        ),
        ("the model must run on a phone offline", {"exception-edge-device"}),
        # Issue 11: both missed the top 8 before cards listed the questions they answer.
        ("how do I stop the bot from making up prices", {"lookalike-hallucination"}),
        ("our eval is only 60 questions, is that enough", {"eval-set"}),
    ],
)
def test_real_questions_find_an_answering_card_in_the_top_three(
    guidance: sqlite_utils.Database, question: str, answers: set[str]
) -> None:
    assert answers & set(ids(search(guidance, question, k=3)))


# ---------------------------------------------------------------- hostile text

HOSTILE = [
    '"',
    '"""',
    "*",
    "fine*",
    "NEAR(",
    "NEAR(fine tuning, 3)",
    "-",
    "-fine-tuning",
    "AND",
    "OR OR OR",
    "NOT fine-tuning",
    "fine AND NOT tuning",
    "title:drift",
    "{title tags}: cost",
    "^cost",
    "cost +",
    "(((",
    ")",
    "🤖🔥 fine-tune 🚀",
    "\x00\x01\x02\x1b[31m",
    "a" * 10_000,
    "fine-tuning " * 2_000,
    "' OR 1=1; DROP TABLE knowledge_passages; --",
    "",
    "   \n\t ",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_return_hits_or_nothing(db: sqlite_utils.Database, query: str) -> None:
    hits = search(db, query)
    assert isinstance(hits, list)
    assert count_passages(db)["card"] == len(CARDS)


def test_long_questions_are_capped_to_a_bounded_expression() -> None:
    words = " ".join(f"word{n}" for n in range(5_000))
    expression = match_expression(words)
    assert expression is not None
    assert expression.count(" OR ") < 100


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    base = tmp_path_factory.mktemp("hypothesis")
    directory = write_cards(base / "cards")
    database = open_db(base / "advisor.db")
    build_index(database, directory)
    return database


FTS_SYNTAX = ["NEAR(", '"', "*", "AND", "OR", "NOT", "-", "{title tags}:", "^", "(", ")", ":"]
VOCABULARY = ["fine-tuning", "cost", "makes things up", "on-prem", "few-shot", "examples"]
QUERIES = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(st.text(max_size=12), st.sampled_from(FTS_SYNTAX + VOCABULARY)), max_size=40
    ).flatmap(lambda parts: st.sampled_from([" ".join(parts), "".join(parts)])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_any_text_at_all_is_a_safe_query(shared_db: sqlite_utils.Database, query: str) -> None:
    hits = search(shared_db, query, k=3)
    assert len(hits) <= 3
    assert all(hit.id in CARDS for hit in hits)


# ---------------------------------------------------------------- rebuilds


def test_the_index_is_rebuilt_only_when_a_card_changes(cards_dir: Path) -> None:
    database = open_db()
    assert ensure_index(database) is True
    assert ensure_index(database) is False
    path = cards_dir / "cost-stack.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Data collection", "Quokka wrangling"),
        encoding="utf-8",
    )
    assert ensure_index(database) is True
    assert ids(search(database, "quokka", k=1)) == ["cost-stack"]
    assert ensure_index(database) is False


def test_editing_a_copy_of_the_real_cards_triggers_a_rebuild(tmp_path: Path) -> None:
    copy = tmp_path / "cards"
    shutil.copytree(CARDS_DIR, copy)
    database = open_db()
    assert build_index(database, copy) == len(card_ids())
    assert ensure_index(database, copy) is False
    victim = sorted(copy.glob("*.md"))[0]
    victim.write_text(victim.read_text(encoding="utf-8") + "\nZyzzyva.\n", encoding="utf-8")
    assert ensure_index(database, copy) is True
    assert ids(search(database, "zyzzyva", k=1)) == [victim.stem]


def test_processes_starting_at_once_rebuild_the_index_only_once(cards_dir: Path) -> None:
    def start(_: int) -> bool:
        database = open_db()  # each worker its own connection, as separate processes have
        try:
            return ensure_index(database)
        finally:
            database.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        rebuilt = list(pool.map(start, range(8)))
    assert rebuilt.count(True) == 1
    assert ids(search(open_db(), "hallucinates", k=1)) == ["lookalike-hallucination"]


def test_removing_a_card_removes_it_from_results(
    db: sqlite_utils.Database, cards_dir: Path
) -> None:
    (cards_dir / "privacy-on-prem.md").unlink()
    assert ensure_index(db) is True
    assert "privacy-on-prem" not in ids(search(db, "privacy on-prem air-gapped", k=5))


def test_a_card_rebuild_keeps_the_team_documents(
    db: sqlite_utils.Database, cards_dir: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.md"
    policy.write_text("# Vendor rules\n\nNo wombat may approve a vendor.\n", encoding="utf-8")
    add_documents(db, [policy])
    (cards_dir / "rung-few-shot.md").unlink()
    assert ensure_index(db) is True
    assert ids(search(db, "wombat", k=1)) == ["team:policy.md#1"]
    assert build_index(db) == len(CARDS) - 1 + 1
    assert ids(search(db, "wombat", k=1)) == ["team:policy.md#1"]


def test_a_new_index_layout_rebuilds_and_keeps_team_documents(
    db: sqlite_utils.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.md"
    policy.write_text("# Vendor rules\n\nNo wombat may approve a vendor.\n", encoding="utf-8")
    add_documents(db, [policy])
    monkeypatch.setattr(search_module, "SCHEMA_VERSION", "test-next")
    assert ensure_index(db) is True
    assert ids(search(db, "wombat", k=1)) == ["team:policy.md#1"]


# ---------------------------------------------------------------- team documents

POLICY = """Preamble about the policy and its owners.

# Data handling

Customer records never leave our own infrastructure. Contractors need approval.

## Vendors

Any vendor model must pass the quarterly wombat review.
"""


def test_an_added_team_document_is_searchable_beside_the_cards(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    path = tmp_path / "ai-policy.md"
    path.write_text(POLICY, encoding="utf-8")
    [added] = add_documents(db, [path])
    assert added.ok and added.name == "ai-policy.md" and added.passages == 3
    assert not added.replaced
    [hit] = search(db, "which vendor review applies?", k=1)
    assert hit.id == "team:ai-policy.md#3"
    assert hit.title == "Vendors"
    assert hit.sources == ["ai-policy.md"]
    assert "wombat" in hit.text
    on_prem = ids(search(db, "customer records in our own infrastructure", k=3))
    assert "team:ai-policy.md#2" in on_prem and "privacy-on-prem" in on_prem


def test_a_teams_own_section_outranks_a_card_that_matches_as_well(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    title, _, body = CARDS["privacy-on-prem"]  # the same words as a card, in a team file
    path = tmp_path / "privacy-deployment.md"
    path.write_text(f"# {title}\n\n{body}\n", encoding="utf-8")
    assert add_documents(db, [path])[0].ok
    assert ids(search(db, "where must our sensitive data stay?", k=2)) == [
        "team:privacy-deployment.md#1",
        "privacy-on-prem",
    ]


def test_re_adding_a_file_replaces_its_passages(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = tmp_path / "ai-policy.md"
    path.write_text(POLICY, encoding="utf-8")
    add_documents(db, [path])
    path.write_text("# Vendors\n\nVendors now pass the platypus audit.\n", encoding="utf-8")
    [again] = add_documents(db, [path])
    assert again.replaced and again.passages == 1
    assert search(db, "wombat") == []
    assert ids(search(db, "platypus", k=1)) == ["team:ai-policy.md#1"]
    [listed] = list_documents(db)
    assert (listed.name, listed.passages) == ("ai-policy.md", 1)
    assert count_passages(db) == {"card": len(CARDS), "team": 1}


def test_two_files_with_the_same_name_both_stay(db: sqlite_utils.Database, tmp_path: Path) -> None:
    for folder, word in (("legal", "wombat"), ("ops", "platypus")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "policy.md").write_text(f"# Rule\n\nThe {word} rule.\n")
    results = add_documents(db, [tmp_path / "legal" / "policy.md", tmp_path / "ops/policy.md"])
    assert all(r.ok for r in results)
    assert len({r.name for r in results}) == 2
    assert len(search(db, "wombat platypus", k=5)) == 2


def test_a_directory_adds_its_own_text_files_only(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    (docs / "nested").mkdir(parents=True)
    (docs / "a.md").write_text("# A\n\nalpha wombat\n")
    (docs / "b.txt").write_text("beta wombat\n")
    (docs / "c.csv").write_text("gamma,wombat\n")
    (docs / "nested" / "d.md").write_text("# D\n\ndelta wombat\n")
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\n\nepsilon wombat\n")
    (docs / "link.md").symlink_to(outside)
    results = add_documents(db, [docs])
    added = sorted(r.name for r in results if r.ok)
    assert added == ["a.md", "b.txt"]
    [refused] = [r for r in results if not r.ok]
    assert refused.path.endswith("link.md") and "symlink" in (refused.error or "")
    found = {hit.text for hit in search(db, "wombat", k=10)}
    assert found == {"alpha wombat", "beta wombat"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"# Title\n\x00\x01binary", "binary"),
        (b"\xff\xfe\xfa not utf-8", "UTF-8"),
        (b"   \n\n", "empty"),
    ],
)
def test_files_that_are_not_text_are_refused(
    db: sqlite_utils.Database, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    [result] = add_documents(db, [path])
    assert not result.ok and reason in (result.error or "")
    assert list_documents(db) == []


def test_oversized_and_missing_files_are_refused(
    db: sqlite_utils.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "MAX_DOC_BYTES", 100)
    big = tmp_path / "big.md"
    big.write_text("word " * 50)
    results = add_documents(db, [big, tmp_path / "missing.md", tmp_path])
    assert [r.ok for r in results] == [False, False, False]
    assert "too large" in (results[0].error or "")
    assert "no such file" in (results[1].error or "")
    assert count_passages(db)["team"] == 0


def test_documents_split_on_markdown_and_underlined_headings() -> None:
    text = (
        "Intro line.\n\nSetext title\n============\n\nUnder setext.\n\n"
        "```\n# not a heading inside code\n```\n\n### Deep  ###\n\nDeep body.\n\n# Empty\n"
    )
    sections = split_sections(text, "notes")
    assert [title for title, _ in sections] == ["notes", "Setext title", "Deep"]
    assert "# not a heading" in sections[1][1]


def test_long_sections_are_cut_at_paragraph_breaks() -> None:
    paragraph = " ".join(["word"] * 120)
    sections = split_sections("# Long\n\n" + "\n\n".join([paragraph] * 6), "x")
    assert len(sections) >= 2
    assert all(title == "Long" for title, _ in sections)
    assert all(len(body.split()) <= search_module.PASSAGE_WORDS for _, body in sections)


def test_the_index_lives_in_the_app_database(isolated_db: Path, cards_dir: Path) -> None:
    ensure_index(open_db())
    assert sqlite_utils.Database(isolated_db)["knowledge_passages_fts"].exists()
