# Two entry points a fresh machine needs (Python 3.11, pip, make):
#   make demo   – install, generate the demo data set, run the whole pipeline
#   make test   – install, run the test suite
# --compile-bytecode: the libraries' .pyc are written at install (~12 s), so no
# process compiles them from source at import time — which every process did
# where PYTHONDONTWRITEBYTECODE is set (this machine): importing GX, Dagster,
# polars, DuckDB and pandas took 10 s, 4.6 s with the .pyc (docs/performance.md)
PY ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION = 0.13.9
UV = .tools/bin/uv

.PHONY: demo test bench install ui

$(UV):
	$(PY) -m venv .tools
	.tools/bin/pip install -q uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python $(PY)
	touch $@

install: .venv/.synced

demo: install
	.venv/bin/permits demo

# two test processes (pytest-xdist; the machine has 2 cores; the measured times are in
# docs/performance.md); TEST_WORKERS=0 runs them in this process
TEST_WORKERS ?= 2

test: install
	.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS) || [ $$? -eq 5 ]  # exit 5: no test collected

bench: install
	.venv/bin/permits bench

ui: install
	.venv/bin/permits ui
