# Two commands a newcomer needs: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Slack when its tokens are set, otherwise the terminal interview.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN" ]; then $(BIN)/advisor serve; else $(BIN)/advisor chat; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# Prints tables and writes bench/results/*.json; a benchmark, not a test.
# Every benchmark runs even if one misses its target; the misses are listed at the end.
BENCHES := retrieval llm understanding ack turn growth evidence cli
bench: $(STAMP)
	@missed=""; for b in $(BENCHES); do \
	  echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || missed="$$missed $$b"; \
	done; \
	if [ -n "$$missed" ]; then echo "targets missed:$$missed"; exit 1; fi

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
