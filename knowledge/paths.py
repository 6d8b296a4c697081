"""Where the built-in knowledge lives; a module of its own so a reader of the index can find
the cards without importing what parses them (YAML, pydantic)."""

from __future__ import annotations

from pathlib import Path

KNOWLEDGE_DIR = Path(__file__).resolve().parent
CARDS_DIR = KNOWLEDGE_DIR / "cards"
