"""LangGraph's PostgresSaver for an interview-like graph, in advisor's setup: our pool, our
schema runner, our thread lock; through a server restart and two workers racing."""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypedDict

import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from graph.database import Pool, open_pool
from graph.pg_locks import LockLost, hold_thread
from graph.pg_schema import migrate

THREAD = "T1:C1:1700000000.000100"
CONFIG: Any = {"configurable": {"thread_id": THREAD}}
QUESTIONS = ("name", "team", "volume")


class Interview(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def interview(saver: PostgresSaver, after: dict[str, Callable[[], None]] | None = None) -> Any:
    """Three questions, one interrupt() each; ``after[q]`` runs once q's answer is in (inside
    the turn, before its checkpoint is written)."""
    hooks = after or {}

    def ask(question: str) -> Callable[[Interview], dict[str, Any]]:
        def node(state: Interview) -> dict[str, Any]:
            said = interrupt({"question": question})
            hooks.get(question, lambda: None)()
            return {"answers": [f"{question}={said}"]}

        return node

    builder = StateGraph(Interview)
    previous = START
    for question in QUESTIONS:
        builder.add_node(question, ask(question))
        builder.add_edge(previous, question)
        previous = question
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=saver)


def pending(graph: Any) -> str | None:
    state = graph.get_state(CONFIG)
    return state.interrupts[0].value["question"] if state.interrupts else None


def answers(graph: Any) -> list[str]:
    return list(graph.get_state(CONFIG).values.get("answers", []))


def forks(pool: Pool) -> list[dict[str, Any]]:
    """Checkpoints with more than one child: two runs that each went on from the same one."""
    with pool.connection() as conn:
        return conn.execute(
            "SELECT parent_checkpoint_id, count(*) AS children FROM checkpoints "
            "WHERE thread_id = %s AND checkpoint_ns = '' AND parent_checkpoint_id IS NOT NULL "
            "GROUP BY parent_checkpoint_id HAVING count(*) > 1",
            [THREAD],
        ).fetchall()


@pytest.fixture
def pool(pg_url: str) -> Iterator[Pool]:
    with open_pool(pg_url, max_size=8) as pool:
        migrate(pool)
        yield pool


def started(pool: Pool, **hooks: Callable[[], None]) -> Any:
    graph = interview(PostgresSaver(pool), hooks)
    graph.invoke({"answers": []}, CONFIG)
    assert pending(graph) == "name"
    return graph


def test_an_interview_resumes_after_postgresql_restarts_between_turns(
    pg_server, pg_url: str, pool: Pool
) -> None:
    graph = started(pool)
    graph.invoke(Command(resume="Ada"), CONFIG)
    assert pending(graph) == "team"

    pg_server.restart()  # every pooled connection is cut

    graph.invoke(Command(resume="Core platform"), CONFIG)
    assert pending(graph) == "volume"
    # Another worker, with a pool of its own, carries on where this one left off.
    with open_pool(pg_url) as other_pool:
        other = interview(PostgresSaver(other_pool))
        assert answers(other) == ["name=Ada", "team=Core platform"]
        other.invoke(Command(resume="50k a day"), CONFIG)
        assert pending(other) is None
        assert answers(other) == ["name=Ada", "team=Core platform", "volume=50k a day"]
    assert forks(pool) == []


def test_a_restart_inside_a_turn_fails_that_turn_and_its_retry_answers_once(
    pg_server, pool: Pool
) -> None:
    restarts = [pg_server.restart]  # the first time "team" is answered, and only then
    graph = started(pool, team=lambda: restarts and restarts.pop()())
    graph.invoke(Command(resume="Ada"), CONFIG)

    # The turn runs on the connection that holds the thread's lock: the restart ends both
    # together, so the turn cannot write after losing the lock.
    with pytest.raises(psycopg.OperationalError), hold_thread(pool, THREAD) as held:
        graph.copy(update={"checkpointer": PostgresSaver(held.conn)}).invoke(
            Command(resume="Core platform"), CONFIG
        )
    assert pending(graph) == "team" and answers(graph) == ["name=Ada"]  # nothing half-written

    with hold_thread(pool, THREAD) as held:  # the retry (the inbox still holds the reply)
        graph.copy(update={"checkpointer": PostgresSaver(held.conn)}).invoke(
            Command(resume="Core platform"), CONFIG
        )
    assert answers(graph) == ["name=Ada", "team=Core platform"]
    assert pending(graph) == "volume"
    assert forks(pool) == []


def test_a_turn_on_pooled_connections_outlives_its_lock(pg_server, pool: Pool) -> None:
    # Why the turn above writes on the lock's own connection: through the pool, the same
    # restart leaves the turn running and writing on fresh connections, its lock gone.
    restarts = [pg_server.restart]
    graph = started(pool, team=lambda: restarts and restarts.pop()())
    graph.invoke(Command(resume="Ada"), CONFIG)
    with hold_thread(pool, THREAD) as held:
        graph.invoke(Command(resume="Core platform"), CONFIG)
        with pytest.raises(LockLost):
            held.check()
    assert answers(graph) == ["name=Ada", "team=Core platform"]


def race(pool: Pool, graph: Any, replies: tuple[str, str], *, locked: bool) -> list[str]:
    """Two workers answer the question the thread shows, at the same instant."""
    go = threading.Barrier(2)
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def answer(reply: str) -> None:
        try:
            go.wait()
            if not locked:
                graph.invoke(Command(resume=reply), CONFIG)
                outcomes.append("resumed")
                return
            with hold_thread(pool, THREAD, wait=10):
                # Under the lock: is the question this reply answers still the one shown?
                if pending(graph) != "name":
                    outcomes.append("stale")
                    return
                graph.invoke(Command(resume=reply), CONFIG)
                outcomes.append("resumed")
        except BaseException as e:
            failures.append(e)

    workers = [threading.Thread(target=answer, args=(reply,)) for reply in replies]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert failures == []
    return sorted(outcomes)


def slow() -> None:
    time.sleep(1.0)  # the turn is still running when the other worker arrives


def test_two_workers_resuming_one_thread_under_its_lock_do_not_fork(pool: Pool) -> None:
    graph = started(pool, name=slow)
    assert race(pool, graph, ("Ada", "Grace"), locked=True) == ["resumed", "stale"]
    assert forks(pool) == []
    said = answers(graph)
    assert said in (["name=Ada"], ["name=Grace"])
    assert pending(graph) == "team"


def test_without_the_lock_two_workers_fork_the_thread(pool: Pool) -> None:
    graph = started(pool, name=slow)
    assert race(pool, graph, ("Ada", "Grace"), locked=False) == ["resumed", "resumed"]
    assert forks(pool) != []  # two histories from one checkpoint; one answer is lost
    assert len(answers(graph)) == 1
