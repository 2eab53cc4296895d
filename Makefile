# The everyday commands. `make demo` and `make test` work on a fresh machine with
# python3 (3.11+); everything else is installed into .venv from the hash-locked lock file.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# make demo PORT=8080 (or make run PORT=8080): the port portal serve listens on.
PORT ?= 8000

.PHONY: install demo run test test-postgres lint fmt messages lock bench

$(STAMP): requirements-dev.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install  ## a fresh SQLite database with demo data, then the portal on 127.0.0.1:$(PORT)
	$(BIN)/portal demo --port $(PORT)
	PORTAL_PUBLIC_URL=$${PORTAL_PUBLIC_URL:-http://127.0.0.1:$(PORT)} $(BIN)/portal serve --port $(PORT)

run: install
	PORTAL_PUBLIC_URL=$${PORTAL_PUBLIC_URL:-http://127.0.0.1:$(PORT)} $(BIN)/portal serve --port $(PORT)

# Tests run in a worker per CPU (pytest-xdist); a test file stays in one worker, so a
# file's live server and browser start once. TEST_ARGS="-n 0" runs them in this process.
TEST_ARGS ?= -n auto --dist loadfile

test: install  ## the whole suite on SQLite (browser tests need /usr/bin/chromium)
	$(BIN)/pytest $(TEST_ARGS)

test-postgres: install  ## the tests that meet a database, again on PostgreSQL and Redis
	PORTAL_TEST_DATABASE_URL=$${PORTAL_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	PORTAL_TEST_REDIS_URL=$${PORTAL_TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest $(TEST_ARGS) -m "not browser"

bench: install  ## benchmarks of DESIGN.md section 7 (needs wrk); BENCH_ARGS="--quick --postgres URL"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check portal tests tools bench
	$(BIN)/ruff format --check portal tests tools bench
	$(BIN)/mypy
	$(BIN)/python tools/vendor_js.py --check

fmt: install
	$(BIN)/ruff format portal tests tools bench
	$(BIN)/ruff check --fix portal tests tools bench

messages: install  ## extract messages and merge them into every catalogue
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --sort-output \
		-o portal/locale/messages.pot .
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete -i portal/locale/messages.pot -d portal/locale

lock:  ## re-resolve both lock files after changing pyproject.toml
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
		-o requirements.lock --quiet
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		-o requirements-dev.lock --quiet
