"""A throw-away PostgreSQL server for the tests, and the fixtures that hand it out.

One server per test session (``initdb`` + ``pg_ctl`` in a temporary directory, on a free
loopback port, torn down at the end); each test gets a fresh database of its own
(``pg_url``). ``pg_server.restart()`` restarts it mid-test for the fault tests.

Where the server binaries are found: ``pg_config --bindir``, then
``/usr/lib/postgresql/<newest>/bin``, then ``initdb`` and ``pg_ctl`` on ``PATH``. initdb and
pg_ctl refuse to run as root, so as root they run as the ``postgres`` user (runuser).
``ADVISOR_TEST_DATABASE_URL`` uses an existing server instead (its user must be allowed to
CREATE DATABASE; tests that restart the server skip there). Without either, every test that
asks for PostgreSQL skips, and the session ends with one line saying how to enable them; with
``ADVISOR_TEST_POSTGRES=required`` (as ``.ci/run`` sets) they fail instead.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import psycopg
import pytest

EXTERNAL_ENV = "ADVISOR_TEST_DATABASE_URL"
REQUIRED_ENV = "ADVISOR_TEST_POSTGRES"
HOW_TO_ENABLE = (
    "PostgreSQL tests skipped: no PostgreSQL server binaries (initdb, pg_ctl) found; "
    "install them (Debian/Ubuntu: apt-get install postgresql) "
    f"or set {EXTERNAL_ENV}=postgresql://USER@HOST:PORT/postgres (a user who may CREATE DATABASE)"
)
# Durability is not what these tests check: skip the fsyncs, start and stop fast.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",  # a test's own expected errors are not news
}


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        with_config = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if with_config.returncode == 0:
            candidates.append(Path(with_config.stdout.strip()))

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.parent.name))

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Timings:
    initdb: float = 0.0
    start: float = 0.0
    restarts: list[float] = field(default_factory=list)
    databases: list[float] = field(default_factory=list)


class PgServer:
    """A PostgreSQL server in a temporary directory, owned by the test session."""

    can_restart = True

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.timings = Timings()
        self.run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no postgres user") from None
            self.run_as = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.version = ""

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}\n{self.tail()}"
            )
        return done

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", *args, check=check
        )

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def init(self) -> None:
        began = time.perf_counter()
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self.timings.initdb = time.perf_counter() - began
        self.version = self._run("postgres", "--version").stdout.strip()

    def _configure(self) -> None:
        settings = {**SETTINGS, "port": str(self.port), "unix_socket_directories": f"'{self.root}'"}
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        # postgresql.auto.conf is read last: what the tests set there wins, and a restart
        # keeps it.
        (self.data / "postgresql.auto.conf").write_text(lines)

    def start(self) -> None:
        """Start the server: on a free port the first time, on the same port after that."""
        began = time.perf_counter()
        for attempt in range(5):
            fresh = not self.port
            if fresh:
                self.port = _free_port()
                self._configure()
            done = self._ctl("start", check=False)
            if done.returncode == 0:
                break
            if not fresh or "could not bind" not in self.tail() or attempt == 4:
                raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{self.tail()}")
            self.port = 0
        if not self.timings.start:
            self.timings.start = time.perf_counter() - began

    def restart(self) -> None:
        """Restart the server (``pg_ctl restart -m fast``): every connection is cut."""
        began = time.perf_counter()
        self._ctl("restart", "-m", "fast")
        self.timings.restarts.append(time.perf_counter() - began)

    def stop(self) -> None:
        """Stop the server at once (``-m immediate``: like a crash, recovery on start)."""
        self._ctl("stop", "-m", "immediate", check=False)

    def destroy(self) -> None:
        if self.data.exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"


class ExternalServer:
    """An existing server named by ``ADVISOR_TEST_DATABASE_URL``."""

    can_restart = False

    def __init__(self, url: str) -> None:
        self._url = url
        self.timings = Timings()
        self.version = "an existing server"

    def url(self, dbname: str = "postgres") -> str:
        return urlsplit(self._url)._replace(path=f"/{dbname}").geturl()

    def restart(self) -> None:
        pytest.skip(
            f"restarting needs the server the tests start themselves (unset {EXTERNAL_ENV})"
        )

    def destroy(self) -> None:
        pass


Server = PgServer | ExternalServer
_state: dict[str, Any] = {"server": None, "last": None, "why_not": None}


def _unavailable(why: str) -> NoReturn:
    """Skip, or fail where PostgreSQL is required (CI: ``ADVISOR_TEST_POSTGRES=required``)."""
    _state["why_not"] = why
    if os.environ.get(REQUIRED_ENV) == "required":
        why = why.replace("tests skipped", "tests cannot run")
        pytest.fail(f"{why} ({REQUIRED_ENV}=required)", pytrace=False)
    pytest.skip(why)


def _server() -> Server:
    if _state["server"] is not None:
        return _state["server"]
    if _state["why_not"] is not None:
        _unavailable(_state["why_not"])
    external = os.environ.get(EXTERNAL_ENV, "").strip()
    if external:
        server: Server = ExternalServer(external)
    else:
        bindir = find_bindir()
        if bindir is None:
            _unavailable(HOW_TO_ENABLE)
        try:
            server = PgServer(bindir)
            atexit.register(server.destroy)  # even when the session dies before teardown
            server.init()
            server.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            _unavailable(f"PostgreSQL tests skipped: the test server did not start: {e}")
    _state["server"] = _state["last"] = server
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The session's PostgreSQL server (the test skips when there is none)."""
    server = _server()
    yield server
    server.destroy()
    _state["server"] = None


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    began = time.perf_counter()
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        # FILE_COPY (PostgreSQL 15+): with fsync off, copying the files beats logging them.
        fast = " STRATEGY FILE_COPY" if admin.info.server_version >= 150000 else ""
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0{fast}')
    pg_server.timings.databases.append(time.perf_counter() - began)
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line: how the PostgreSQL tests ran, or how to enable them."""
    if _state["why_not"]:
        terminalreporter.write_line(_state["why_not"])
        return
    timings: Timings | None = getattr(_state.get("last"), "timings", None)
    if timings and isinstance(_state.get("last"), PgServer) and timings.start:
        made = timings.databases
        each = (
            f", {len(made)} databases at {1000 * sum(made) / len(made):.0f} ms each" if made else ""
        )
        restarts = f", {len(timings.restarts)} restarts" if timings.restarts else ""
        terminalreporter.write_line(
            f"PostgreSQL tests: {_state['last'].version}, initdb {timings.initdb:.2f} s, "
            f"start {timings.start:.2f} s{each}{restarts}"
        )
