"""The app tables: answers kept in order, Slack retries deduplicated, memos versioned, and
the queries App Home and `/advisor list` use. Every test runs on both stores: the SQLite
file and PostgreSQL (a fresh database on the throw-away server; that half skips with one
line when there are no PostgreSQL binaries)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from graph.store import SessionClaim, Store, open_store

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Opener]:
    """Opens the configured store (``open_store``: ADVISOR_DB's file, or PostgreSQL when
    ADVISOR_DATABASE_URL is set), each call a new one as another process would; all are
    closed at the end."""
    if request.param == "postgres":
        monkeypatch.setenv("ADVISOR_DATABASE_URL", request.getfixturevalue("pg_url"))
    opened: list[Store] = []

    def open_one() -> Store:
        opened.append(open_store())
        return opened[-1]

    yield open_one
    for one in opened:
        one.close()


@pytest.fixture
def store(stores: Opener) -> Store:
    return stores()


def test_a_slack_event_is_new_only_the_first_time(store: Store) -> None:
    assert store.seen_event("Ev1") is True
    assert store.seen_event("Ev1") is False
    assert store.seen_event("Ev2") is True


def test_seen_event_is_true_exactly_once_under_concurrent_retries(stores: Opener) -> None:
    workers = [stores(), stores()]  # two processes' stores, as two workers would have
    results: list[bool] = []
    lock = threading.Lock()

    def deliver(store: Store) -> None:
        first = store.seen_event("EvRace")
        with lock:
            results.append(first)

    threads = [threading.Thread(target=deliver, args=(workers[n % 2],)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_answers_are_kept_verbatim_in_order_per_interview(store: Store) -> None:
    store.create_interview("a", use_case="x", by="dana")
    assert store.record_answer("a", question_id="volume", text="~200k", by="dana") == 1
    assert store.record_answer("b", question_id="volume", text="5k", by="lee") == 1
    assert (
        store.record_answer("a", question_id="task", text="", by="lee", values=["classification"])
        == 2
    )
    rows = store.answers("a")
    assert [(r.seq, r.text, r.by, r.values) for r in rows] == [
        (1, "~200k", "dana", None),
        (2, "", "lee", ["classification"]),
    ]


def test_saving_the_same_memo_version_twice_does_not_duplicate_it(store: Store) -> None:
    store.create_interview("i1", use_case="Route tickets", by="dana", origin={"channel": "C1"})
    args = dict(interview_id="i1", markdown="# m", assessment={"approach": "rag"}, use_case="u")
    one = store.save_memo(version=1, **args)  # type: ignore[arg-type]
    again = store.save_memo(version=1, **args)  # type: ignore[arg-type]
    two = store.save_memo(version=2, **args)  # type: ignore[arg-type]
    assert one.id == again.id != two.id
    assert len(store.list_memos()) == 2
    latest = store.latest_memo("i1")
    assert latest is not None and latest.version == 2
    interview = store.get_interview("i1")
    assert interview is not None
    assert interview.status == "done" and interview.memo_id == two.id
    assert interview.origin == {"channel": "C1"}


def test_a_memo_can_be_found_by_a_unique_prefix_of_its_id(store: Store) -> None:
    memo = store.save_memo(
        interview_id="i1", version=1, markdown="# m", assessment={}, use_case="u"
    )
    found = store.get_memo(memo.id[:4])
    assert found is not None and found.id == memo.id
    assert store.get_memo("") is None


def test_tables_live_in_the_advisor_database(stores: Opener) -> None:
    stores().create_interview("i1", use_case="u", by="dana")
    reopened = stores()
    assert reopened.get_interview("i1") is not None
    for table in ("interviews", "answers", "memos", "events", "usage"):
        assert reopened.has_table(table), table


def test_token_usage_adds_up_per_interview(store: Store) -> None:
    store.record_usage("i1", model="m", purpose="extract", input_tokens=100, output_tokens=10)
    store.record_usage(
        "i1", model="m", purpose="prose", input_tokens=50, output_tokens=5, cache_read_tokens=80
    )
    assert store.usage("i1") == {
        "calls": 2,
        "input_tokens": 150,
        "output_tokens": 15,
        "cache_read_tokens": 80,
        "cache_write_tokens": 0,
    }


def test_interviews_by_channel_prefix_and_by_who_took_part(store: Store) -> None:
    store.create_interview(
        "T:C1:1",
        use_case="a",
        by="Ana",
        at="2024-01-01T00:00:00+00:00",
        origin={"user_id": "U0ANA"},
    )
    store.create_interview(
        "T:C1:2",
        use_case="b",
        by="Ben",
        at="2024-01-02T00:00:00+00:00",
        origin={"user_id": "U0BEN"},
    )
    store.create_interview(
        "T:C2:3",
        use_case="c",
        by="Ben",
        at="2024-01-03T00:00:00+00:00",
        origin={"user_id": "U0BEN"},
    )
    store.create_interview("T:C1_:4", use_case="d", by="Chi", at="2024-01-04T00:00:00+00:00")
    store.record_answer(
        "T:C2:3",
        question_id="task",
        text="x",
        by="Ana Lopez",
        at="2024-01-05T00:00:00+00:00",
        author_id="U0ANA",
    )
    # A namesake's answer (another person, the same display name) is not Ana's.
    store.record_answer("T:C1:2", question_id="task", text="y", by="Ana Lopez", author_id="U0ANB")
    assert [r.id for r in store.list_interviews(prefix="T:C1:")] == ["T:C1:2", "T:C1:1"]
    assert [r.id for r in store.list_interviews(prefix="T:C1:", limit=1)] == ["T:C1:2"]
    mine = store.list_interviews(prefix="T:", involving="U0ANA")
    assert [r.id for r in mine] == ["T:C2:3", "T:C1:1"]  # started one, answered in another


def test_the_configured_store_is_the_one_named_by_the_environment(
    stores: Opener, request: pytest.FixtureRequest
) -> None:
    from graph.pg_store import PgStore

    assert isinstance(stores(), PgStore) == ("postgres" in request.node.callspec.id)


def test_answers_can_be_edited_and_deleted_and_the_latest_is_known(store: Store) -> None:
    store.create_interview("a", use_case="x", by="dana")
    store.record_answer("a", question_id="task", text="", by="dana", values=["generation"])
    store.record_answer("a", question_id="volume", text="20k", by="lee", author_id="U1")
    store.amend_answer("a", 1, text="classification")
    store.amend_answer("a", 2, text=None)  # deleted: its words go, the row stays
    assert [(r.seq, r.text, r.values) for r in store.answers("a")] == [
        (1, "classification", None),
        (2, "", None),
    ]
    last = store.last_answer("a")
    assert last is not None and (last.seq, last.by, last.author_id) == (2, "lee", "U1")
    assert store.last_answer("nobody") is None


def test_two_workers_answering_one_interview_get_distinct_seqs(stores: Opener) -> None:
    workers = [stores(), stores()]
    workers[0].create_interview("a", use_case="x", by="dana", at="2024-01-01T00:00:00+00:00")
    seqs: list[int] = []
    lock = threading.Lock()

    def answer(store: Store, n: int) -> None:
        for k in range(5):
            seq = store.record_answer("a", question_id="q", text=f"{n}.{k}", by="dana")
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=answer, args=(workers[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 21))
    assert len(workers[1].answers("a")) == 20
    record = workers[1].get_interview("a")
    assert record is not None and record.updated_at > "2024-01-01T00:00:00+00:00"


def test_an_interview_is_updated_by_its_known_fields_only(store: Store) -> None:
    store.create_interview("i1", use_case="u", by="dana", at="2024-01-01T00:00:00+00:00")
    again = store.create_interview("i1", use_case="other", by="lee")  # exists: unchanged
    assert (again.use_case, again.started_by) == ("u", "dana")
    store.update_interview(
        "i1",
        use_case="Route tickets",
        status="cancelled",
        origin={"user_id": "U1"},
        at="2024-02-01",
    )
    record = store.get_interview("i1")
    assert record is not None
    assert (record.use_case, record.status, record.origin, record.updated_at) == (
        "Route tickets",
        "cancelled",
        {"user_id": "U1"},
        "2024-02-01",
    )
    with pytest.raises(ValueError, match="started_by"):
        store.update_interview("i1", started_by="mallory")
    assert [r.id for r in store.list_interviews("cancelled")] == ["i1"]
    assert store.list_interviews("open") == []


def test_a_memo_is_accepted_by_someone_and_an_unknown_memo_is_an_error(store: Store) -> None:
    memo = store.save_memo(
        interview_id="i1", version=1, markdown="# m", assessment={"approach": "rag"}, use_case="u"
    )
    decided = store.set_memo_status(memo.id, "accepted", "Ana", markdown="# m (accepted)")
    assert (decided.status, decided.decided_by, decided.markdown) == (
        "accepted",
        "Ana",
        "# m (accepted)",
    )
    assert decided.assessment == {"approach": "rag"} and decided.approach == "rag"
    with pytest.raises(KeyError):
        store.set_memo_status("nope", "rejected", "Ana", markdown="")
    with pytest.raises(ValueError):
        store.set_memo_status(memo.id, "maybe", "Ana", markdown="")  # type: ignore[arg-type]
    store.save_memo(
        interview_id="i1", version=2, markdown="# m2", assessment={"approach": "rag"}, use_case="u"
    )
    assert [(h.version, h.status) for h in store.memo_headers()] == [(2, "proposed")]
    assert [h.version for h in store.memo_headers(latest_only=False)] == [2, 1]
    assert memo.id in store.memo_ids(memo.id[:3])
    assert store.memo_ids("x%") == [] and store.memo_ids("") == []


def test_shared_files_are_kept_by_their_measures_in_order(store: Store) -> None:
    assert store.evidence_rows("i1") == []
    for n, kind in enumerate(("eval", "training")):
        store.add_evidence_row(
            "i1",
            file=f"{kind}.csv",
            sha256=f"{n}" * 64,
            kind=kind,
            by="Ana",
            at=f"2024-01-0{n + 1}T00:00:00+00:00",
            summary=f"{kind} measured",
            measures={"rows": 400, "kind": kind},
        )
    rows = store.evidence_rows("i1")
    assert [(r["file"], r["kind"], r["by"]) for r in rows] == [
        ("eval.csv", "eval", "Ana"),
        ("training.csv", "training", "Ana"),
    ]
    assert rows[0]["measures"] == '{"kind": "eval", "rows": 400}'
    assert store.evidence_rows("i2") == []


def test_a_session_claim_is_a_compare_and_set(stores: Opener) -> None:
    one, two = stores(), stores()
    mine = SessionClaim("h:1:a", "h", 1, "2024-01-01T00:00:00+00:00", 100.0)
    theirs = SessionClaim("h:2:b", "h", 2, "2024-01-01T00:01:00+00:00", 200.0)
    assert one.session_claim("i1") is None
    assert one.claim_session("i1", mine, replacing=None)
    assert not two.claim_session("i1", theirs, replacing=None)  # someone has it now
    assert not two.claim_session("i1", theirs, replacing="h:9:z")  # not who holds it
    assert two.session_claim("i1") == mine
    assert one.beat_session("i1", "h:1:a", 150.0)
    assert two.claim_session("i1", theirs, replacing="h:1:a")  # taken over
    assert not one.beat_session("i1", "h:1:a", 160.0)  # the old holder learns it
    one.release_session("i1", "h:1:a")  # not theirs any more: nothing happens
    assert one.session_claim("i1") == theirs
    two.release_session("i1", "h:2:b")
    assert one.session_claim("i1") is None


def test_the_postgresql_store_runs_none_of_the_sqlite_code() -> None:
    from graph.pg_store import SLACK_ONLY, PgStore

    public = {n for n, v in vars(Store).items() if callable(v) and not n.startswith("_")}
    assert public - set(vars(PgStore)) == set()  # every method its own
    store = PgStore(pool=None, owns_pool=False)  # type: ignore[arg-type]  # no query runs
    with pytest.raises(NotImplementedError, match=r"Slack tables .* SQLite-only"), store.write():
        pass
    assert "ADVISOR_DATABASE_URL" in SLACK_ONLY
