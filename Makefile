# commentsvc: `make run` starts the service, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
COMMENTSVC_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export COMMENTSVC_TEST_DATABASE_URL

.PHONY: run test test-js lint install install-test fuzz bench clean mutants mutmut

# The service alone (what `make run` needs), then the test and lint tools on top.
$(BIN)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(BIN)/.testing: $(BIN)/.runtime
	$(BIN)/pip install -q -e '.[test,dev]'
	touch $@

install: $(BIN)/.runtime

install-test: $(BIN)/.testing

tests/browser/node_modules/axe-core/axe.min.js:
	npm install --silent --no-audit --no-fund --prefix tests/browser axe-core@4

run: install
	$(BIN)/commentsvc db upgrade
	@echo "commentsvc on http://$(HOST):$(PORT)/ - demo post at http://$(HOST):$(PORT)/demo"
	$(BIN)/commentsvc run --host $(HOST) --port $(PORT) --workers 2

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The widget's pure functions (embed.js, count.js) under Node's own test runner: no packages.
test-js:
	@command -v node >/dev/null 2>&1 || { echo "make test-js: Node.js (18 or newer) is needed for the widget's unit tests; on Debian: apt-get install -y nodejs" >&2; exit 1; }
	node --test tests/widget_unit/*.test.mjs

# Two pytest workers (pytest-xdist): a file stays on one worker, the browser tests all on one.
PYTEST_WORKERS ?= 2
test: install-test lint test-js tests/browser/node_modules/axe-core/axe.min.js
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# A longer, random search of the API than the fixed one `make test` runs (FUZZ_EXAMPLES cases
# per operation and database). What it finds is kept in .hypothesis/fuzz and replayed first by
# the next `make fuzz`; keep each finding as a case of FINDINGS in tests/test_fuzz_api.py, so
# that `make test` checks it too, then fix the code or commentsvc/openapi.yaml.
FUZZ_EXAMPLES ?= 500
fuzz: install-test
	COMMENTSVC_FUZZ=random COMMENTSVC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest -p no:cacheprovider tests/test_fuzz_api.py \
		-k test_api_answers_every_generated_request_as_described

# commentsvc beside Isso and the floor (needs wrk; BENCH_ARGS="--db sqlite --duration 3" for a quick look).
bench: install
	$(BIN)/python bench/peer.py $(BENCH_ARGS)

# Each safeguard the libraries give us (CSRF, login, signatures, autoescaping, rate limits, the
# sanitiser) broken in turn: the tests must notice every one. Not part of `make test`.
mutants: install-test
	$(BIN)/python tests/mutants/run.py $(MUTANTS_ARGS)

# Mutation testing of the modules that guard readers and moderators, each against its own fast
# tests ([tool.mutmut] and [tool.commentsvc-mutmut] in pyproject.toml), then a score table;
# MUTMUT_MODULES="commentsvc/tokens.py" for one. Takes long: not part of `make test`.
$(BIN)/.mutation: $(BIN)/.testing
	$(BIN)/pip install -q -e '.[test,dev,mutation]'
	touch $@

mutmut: $(BIN)/.mutation
	$(BIN)/python tests/mutants/mutmut_modules.py $(MUTMUT_MODULES)

clean:
	rm -rf $(VENV) tests/browser/node_modules .pytest_cache .ruff_cache mutants .mutmut
