""".ci/postgres: CI installs PostgreSQL's server binaries only when they are missing.

Run against a fake machine: a directory standing for /usr/lib/postgresql, and a PATH holding
only the tools the script uses plus a recording fake apt-get (no root, network or dpkg)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / ".ci" / "postgres"
TOOLS = (
    "bash",
    "find",
    "sort",
    "mktemp",
    "dirname",
    "readlink",
    "tail",
    "id",
    "mkdir",
    "rm",
    "chmod",
)
SERVER = ("initdb", "pg_ctl", "postgres")

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root")


def fake_server(bindir: Path) -> None:
    bindir.mkdir(parents=True)
    for name in SERVER:
        (bindir / name).write_text("#!/bin/sh\n")
        (bindir / name).chmod(0o755)


def run(tmp_path: Path, *args: str, apt: str | None = None) -> subprocess.CompletedProcess[str]:
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        if not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    if apt is not None:
        (tools / "apt-get").write_text(f"#!/bin/bash\n{apt}\n")
        (tools / "apt-get").chmod(0o755)
    env = {
        "PATH": str(tools),
        "PG_LIB": str(tmp_path / "lib"),
        "PG_COMMON": str(tmp_path / "common"),
        "CALLS": str(tmp_path / "calls"),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60
    )


RECORD = 'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> "$CALLS"'
INSTALLS = RECORD + '\n[[ " $* " == *" install "* ]] && for b in initdb pg_ctl postgres; do\n'
INSTALLS += '  mkdir -p "$PG_LIB/15/bin"; printf "#!/bin/sh\\n" > "$PG_LIB/15/bin/$b"\n'
INSTALLS += '  chmod +x "$PG_LIB/15/bin/$b"; done; exit 0'


def test_present_binaries_are_used_and_nothing_is_installed(tmp_path: Path) -> None:
    fake_server(tmp_path / "lib" / "9.6" / "bin")
    fake_server(tmp_path / "lib" / "15" / "bin")
    done = run(tmp_path, apt=RECORD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"PostgreSQL server binaries: {tmp_path / 'lib' / '15' / 'bin'}"
    assert not (tmp_path / "calls").exists()


def test_a_partial_install_counts_as_missing(tmp_path: Path) -> None:
    fake_server(tmp_path / "lib" / "15" / "bin")
    (tmp_path / "lib" / "15" / "bin" / "postgres").unlink()  # the client package only
    done = run(tmp_path, "--dry-run", apt=RECORD)
    assert "server binaries missing" in done.stdout + done.stderr


@as_root
def test_dry_run_says_what_it_would_install_and_installs_nothing(tmp_path: Path) -> None:
    done = run(tmp_path, "--dry-run", apt=RECORD)
    assert done.returncode == 0, done.stderr
    assert "would run: apt-get update; apt-get install postgresql" in done.stdout
    assert not (tmp_path / "calls").exists()


@as_root
def test_missing_binaries_are_installed_non_interactively(tmp_path: Path) -> None:
    done = run(tmp_path, apt=INSTALLS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"PostgreSQL server binaries: {tmp_path / 'lib' / '15' / 'bin'}"
    )
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 2
    assert calls[0].startswith("DEBIAN_FRONTEND=noninteractive -q -y") and calls[0].endswith(
        " update"
    )
    assert calls[1].endswith(" install --no-install-recommends postgresql")
    conf = tmp_path / "common" / "createcluster.d" / "advisor-ci.conf"
    assert conf.read_text() == "create_main_cluster = false\n"  # no system server started
    # Run again: present now, so nothing more is installed.
    assert run(tmp_path, apt=INSTALLS).returncode == 0
    assert len((tmp_path / "calls").read_text().splitlines()) == 2


@as_root
def test_a_failed_install_fails_ci_with_apts_own_words(tmp_path: Path) -> None:
    done = run(tmp_path, apt='echo "E: Unable to locate package postgresql" >&2; exit 100')
    assert done.returncode == 1
    assert "apt-get could not install postgresql" in done.stderr
    assert "E: Unable to locate package postgresql" in done.stderr


def test_without_apt_get_it_says_the_tests_will_skip(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert done.returncode == 1
    assert "the PostgreSQL tests will skip" in done.stderr
