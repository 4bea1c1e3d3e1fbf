# onestop — every target is one line a user can read. Only Python 3.11 is assumed.
PY ?= python3.11
UV := .venv-tools/bin/uv
export UV_PYTHON := $(shell command -v $(PY) || command -v python3)

.PHONY: run test bench faults lint fmt sync asyncapi

$(UV):  ## install uv from PyPI into a private tools venv if it is missing
	$(UV_PYTHON) -m venv .venv-tools && .venv-tools/bin/pip install -q uv==0.13.9

sync: $(UV)  ## the project's virtual environment, exactly as uv.lock pins it
	$(UV) sync --frozen

run: sync  ## PostgreSQL + NATS (embedded unless DATABASE_URL / NATS_URL), migrations, the four services
	.venv/bin/onestop up

test: sync  ## the whole suite against a real PostgreSQL and nats-server the session starts
	.venv/bin/python -m pytest -q -p no:cacheprovider

faults: sync  ## only the fault tests (NATS and PostgreSQL outages, poison events, failed publishes, restarts)
	.venv/bin/python -m pytest -q tests/faults

bench: sync  ## anchors (pgbench, JetStream publish) and the figures measured as ratios to them
	.venv/bin/python -m bench

asyncapi: sync  ## regenerate docs/asyncapi.json from the event models
	.venv/bin/python -m onestop.contracts.asyncapi > docs/asyncapi.json

lint: sync  ## ruff, and mypy on the shared libraries and the pure domain cores
	.venv/bin/ruff check . && .venv/bin/mypy libs/contracts/src libs/common/src services/*/src/onestop/*/domain

fmt: sync
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
