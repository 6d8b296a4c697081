"""Choosing the database, reading ADVISOR_DATABASE_URL, and a pool that survives restarts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from pg_server import HOW_TO_ENABLE

from graph.database import (
    DatabaseUnavailable,
    DatabaseUrlError,
    Postgres,
    Sqlite,
    configured,
    open_pool,
    parse_url,
    redact,
)

TESTS = Path(__file__).parent

# -- ADVISOR_DATABASE_URL ------------------------------------------------------------------


def test_unset_url_means_the_sqlite_file(tmp_path: Path) -> None:
    chosen = configured({"ADVISOR_DB": str(tmp_path / "a.db")})
    assert chosen == Sqlite(tmp_path / "a.db")
    assert configured({"ADVISOR_DATABASE_URL": "  "}) == Sqlite(Path(".advisor/advisor.db"))


def test_a_postgresql_url_means_postgresql() -> None:
    chosen = configured({"ADVISOR_DATABASE_URL": " postgresql://adv:pw@db:5433/advisor "})
    assert isinstance(chosen, Postgres)
    assert chosen.url == "postgresql://adv:pw@db:5433/advisor"
    assert configured({"ADVISOR_DATABASE_URL": "postgres://db/advisor"}) == Postgres(
        "postgres://db/advisor"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://adv:hunter2@db/advisor", "must be a postgresql:// URL"),
        ("db.example.com:5432/advisor", "must be a postgresql:// URL"),
        ("postgresql://adv:hunter2@db:fivefour/advisor", "port that is not a number"),
        ("postgresql://adv:hunter2@db:99999/advisor", "port that is not a number"),
        (
            "postgresql://adv:hunter2@db/advisor?sslmod=require",
            'invalid URI query parameter: "sslmod"',
        ),
        ("postgresql://adv:hunt%er2@db/advisor", "invalid percent-encoded token"),
        ("postgresql://adv@db/advisor?password=hunter2&bogus=1", "invalid URI query parameter"),
    ],
)
def test_a_bad_url_is_one_line_that_never_shows_the_password(url: str, says: str) -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        configured({"ADVISOR_DATABASE_URL": url})
    message = str(caught.value)
    assert says in message
    assert "\n" not in message
    assert "hunter2" not in message and "hunt%er2" not in message
    assert "ADVISOR_DATABASE_URL" in message


def test_redact_hides_every_form_of_the_password() -> None:
    assert redact("postgresql://adv:s3cr%40t@db/x") == "postgresql://adv:***@db/x"
    assert redact("postgresql://db/x?user=a&password=s3cr3t&sslmode=require") == (
        "postgresql://db/x?user=a&password=***&sslmode=require"
    )
    assert redact("postgresql://adv@db/x") == "postgresql://adv@db/x"
    # A password quoted back in an error message is hidden too.
    assert redact('bad token "s3cr3t"', "postgresql://a:s3cr3t@db/x") == 'bad token "***"'
    assert "pw" not in repr(Postgres("postgresql://a:pw@db/x"))
    assert "pw" not in str(Postgres("postgresql://a:pw@db/x"))


def test_parse_url_keeps_a_good_url() -> None:
    url = "postgresql://adv:pw@db1:5432,db2:5433/advisor?sslmode=require&connect_timeout=3"
    assert parse_url(f"  {url}\n") == url


# -- the pool -------------------------------------------------------------------------------


def test_unreachable_server_is_one_clear_line_without_the_password() -> None:
    with socket_nobody_listens() as port:
        url = f"postgresql://adv:hunter2@127.0.0.1:{port}/advisor"
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as caught:
            open_pool(url)
    message = str(caught.value)
    assert message.startswith(f"cannot use PostgreSQL at postgresql://adv:***@127.0.0.1:{port}")
    assert "refused" in message.lower()
    assert "hunter2" not in message and "\n" not in message
    assert time.monotonic() - began < 5  # refused at once, not retried in the background


def test_wrong_database_name_says_so(pg_server: object, pg_url: str) -> None:
    with pytest.raises(DatabaseUnavailable, match='database "no_such_db" does not exist'):
        open_pool(pg_url.rsplit("/", 1)[0] + "/no_such_db")


def test_pool_connections_are_autocommit_dict_rows(pg_url: str) -> None:
    with open_pool(pg_url) as pool, pool.connection() as conn:
        assert conn.autocommit
        row = conn.execute("SELECT 1 AS one, current_setting('tcp_keepalives_idle') AS idle")
        assert row.fetchone() == {"one": 1, "idle": "30"}


def test_pool_carries_on_after_the_server_restarts(pg_server, pg_url: str) -> None:
    # Eight idle connections, all broken by the restart. Found one at a time, psycopg_pool
    # would sleep 1 s + 2 s between finds and this 3 s timeout would end in PoolTimeout.
    with open_pool(pg_url, min_size=8, max_size=8, timeout=3.0) as pool:
        with pool.connection() as conn:
            conn.execute("CREATE TABLE said (what text)")
            conn.execute("INSERT INTO said VALUES ('before')")
        pool.wait()
        pg_server.restart()
        for n in range(1, 5):
            with pool.connection() as conn:
                conn.execute("INSERT INTO said VALUES (%s)", [f"after {n}"])
        with pool.connection() as conn:
            rows = conn.execute("SELECT what FROM said ORDER BY what").fetchall()
        assert [r["what"] for r in rows] == ["after 1", "after 2", "after 3", "after 4", "before"]
        assert pool.get_stats().get("connections_lost", 0) >= 7  # the broken ones, replaced


def test_a_call_waits_for_the_server_to_come_back(pg_server, pg_url: str) -> None:
    if not pg_server.can_restart:
        pytest.skip("needs the tests' own server")
    with open_pool(pg_url, timeout=20) as pool:
        pg_server.stop()
        restarted = threading.Timer(1.0, pg_server.start)
        restarted.start()
        try:
            with pool.connection() as conn:
                assert conn.execute("SELECT 42 AS n").fetchone() == {"n": 42}
        finally:
            restarted.join()


# -- the harness itself ---------------------------------------------------------------------


def test_each_test_gets_a_fresh_database(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE leftover (x int)")


def run_without_binaries(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest on two PostgreSQL tests and a plain one, on a machine with no server binaries."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pg_server
            pg_server.find_bindir = lambda: None
            from pg_server import pg_server, pg_url, pytest_terminal_summary
            """
        )
    )
    (tmp_path / "test_needs_pg.py").write_text(
        "def test_one(pg_url):\n    assert False\n\ndef test_two(pg_url):\n    assert False\n"
        "\ndef test_plain():\n    assert True\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(TESTS), "PATH": "/usr/bin:/bin", **env},
        cwd=tmp_path,
        timeout=120,
    )


def test_without_server_binaries_postgres_tests_skip_with_one_line(tmp_path: Path) -> None:
    done = run_without_binaries(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 2 skipped" in done.stdout
    assert done.stdout.count(HOW_TO_ENABLE) == 1


def test_where_postgres_is_required_its_tests_fail_instead(tmp_path: Path) -> None:
    done = run_without_binaries(tmp_path, ADVISOR_TEST_POSTGRES="required")
    assert done.returncode == 1
    assert "2 errors" in done.stdout and "1 passed" in done.stdout
    assert "PostgreSQL tests cannot run: no PostgreSQL server binaries" in done.stdout


class socket_nobody_listens:
    """A loopback port that refuses connections (bound, never listening)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
