# The two commands a new user runs: `make run` (one simulated night) and `make test`.
# Both create .venv and install what they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pytest with bytecode written, whatever the shell says: where PYTHONDONTWRITEBYTECODE is
# set, every run compiled the tests and rewrote their asserts again (collection 15.7 s
# instead of 4.3 s, in each of test-fast's processes).
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest

.PHONY: run test test-fast mutation up flower bench lint typecheck system-deps install clean

run: install system-deps
	$(VENV)/bin/observatory run

# The suite runs in a random order (pytest-randomly); the seed is printed, and a failure
# prints the command that runs the same order again. `-p no:randomly` keeps file order.
test: install system-deps
	$(PYTEST) -q -ra $(PYTEST_ARGS)

# The inner loop, under three minutes on two cores: no slow, PostgreSQL or proof tests, in
# FAST_WORKERS processes (pytest-xdist; the shared stack's tests stay in one of them).
FAST_WORKERS ?= 2
test-fast: install
	$(PYTEST) -q -ra -m "not slow and not postgres and not proof" \
		-n $(FAST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Mutation testing of the core decision modules, group by group, one mutant at a time
# (the machine is shared); fails under a 90 % score. Survivors: docs/testing.md.
# One group: make mutation GROUPS="states dome"; the groups: $(PY) scripts/mutation.py --list
mutation: install
	$(PY) -m pip install -q -c constraints.txt -e ".[test,mutation]"
	$(PY) scripts/mutation.py $(GROUPS)

up: install
	$(VENV)/bin/observatory up

# The stack with Flower on http://127.0.0.1:5555/: with the credentials of
# OBSERVATORY_FLOWER__BASIC_AUTH=user:password when set, else open on loopback only.
flower: install
	$(VENV)/bin/observatory up --flower --flower-no-auth

bench: install system-deps
	$(VENV)/bin/observatory bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
