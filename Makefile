# One virtual environment (.venv) for everything; every target sets it up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# nbgrader shells out to alembic: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)
# Offline machines: read the datasets from the shared mirror when it is there.
ifeq ($(origin COURSE_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data),)
    export COURSE_DATA_DIR := $(abspath ../shared/data)
  endif
endif
PYTEST_ARGS ?=
# Test processes: grading batches keep both cores busy, the other tests mostly one; two
# processes overlap them (tests/conftest.py keeps each assignment's graded class in one).
TEST_WORKERS ?= 2

.PHONY: setup demo test lint release check bench bench-grading bench-distributed lab browser clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[instructor]'
	touch $@

setup: $(VENV)/.installed

## The whole instructor cycle on a demo class (scratch course in ./demo-course).
demo: setup
	$(BIN)/course demo

## The test suite (what CI runs); installs Chromium for the browser tests when missing.
test: setup browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

## Regenerate and verify release/ from source/.
release: setup
	$(BIN)/course release

## Instructor QA of every assignment (with 20 mutants each).
check: setup
	$(BIN)/course check --mutants 20

## Wall time of autograding one submission of each assignment (median of 3).
bench: setup
	$(BIN)/python bench/timings.py

## Class grading throughput: serial nbgrader vs course autograde --workers 2 (same scores).
BENCH_ARGS ?= --students 30
bench-grading: setup
	$(BIN)/python bench/grading.py $(BENCH_ARGS)

## The same synthetic class graded locally and through a local 2-worker Dask cluster.
bench-distributed: setup
	$(BIN)/python bench/dask_grading.py

## JupyterLab with nbgrader for this course on 127.0.0.1 (config in jupyter/); prints the URL.
lab: setup
	$(BIN)/python tools/lab.py

## Chromium for the browser tests (Debian package; CI runs this too).
browser:
	bash tools/install-browser.sh

clean:
	rm -rf demo-course .pytest_cache .ruff_cache gradebook.db
