"""Shared fixtures. Every test gets its own database so nothing leaks into .advisor/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import pg_server, pg_url, pytest_terminal_summary  # noqa: F401  (PostgreSQL)


@pytest.fixture(autouse=True)
def isolated_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``ADVISOR_DB`` at a fresh file and keep secrets and remote APIs out of tests."""
    db = tmp_path / "advisor.db"
    monkeypatch.setenv("ADVISOR_DB", str(db))
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
        "ADVISOR_PRICES",
        "ADVISOR_MODEL",
        "ADVISOR_DATABASE_URL",  # never a developer's real database; tests use pg_url
    ):
        monkeypatch.delenv(name, raising=False)
    yield db
