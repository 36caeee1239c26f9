# The two commands of the README, and the pieces they are made of.
# `make demo` runs the main job on the sample data; `make test` runs the tests.
# Both set up a fresh machine by themselves and start the stack once.

STREAMS := .venv/bin/streams
PYTEST_ARGS ?=

.PHONY: setup up down status demo test check lint

setup:
	@bash scripts/setup.sh

up: setup
	@$(STREAMS) stack up

down:
	@if [ -x $(STREAMS) ]; then $(STREAMS) stack down; fi

status:
	@$(STREAMS) stack status

demo: up
	@$(STREAMS) demo

# pytest exits 5 when it collected nothing: that is a broken suite, never a pass.
test: up
	@.venv/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; \
	exit $$rc

lint: setup
	@.venv/bin/ruff check streams tests bench
	@.venv/bin/ruff format --check streams tests bench
	@.venv/bin/mypy

check: lint test
