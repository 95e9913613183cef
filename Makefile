# casereport: two commands for users (see README.md)
#   make report   set up .venv from the pinned lock file and build the report
#   make test     set up .venv and run the test suite (all of it; what CI runs)
# Others: make test-fast (unit tier: no notebooks, no browser, under a minute),
# make lab, make lock, make clean, make clean-venv. Re-running is fast: setup is redone
# only when pyproject.toml or requirements/lock.txt change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# The environment's files live outside the project, in VENV_HOME, and .venv is a link to
# them: every Quarto render walks the whole project folder many times (its resource globs,
# src/project/project-resources.ts) but never through a link, and a .venv folder of some
# 34,000 files inside the project made each article render 4-5 s longer (benchmarks/
# results.md, section "venv"). A .venv folder made before this is used as it is;
# `make clean-venv` removes the environment and its link.
VENV_HOME ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/casereport/venvs
VENV_FILES := $(VENV_HOME)/$(notdir $(CURDIR))-$(shell printf '%s' '$(CURDIR)' | sha256sum | cut -c1-12)
BIN := $(VENV)/bin
STAMP := $(VENV)/.casereport-installed
JOBS ?= 2
PYTEST_ARGS ?=

.PHONY: report test test-fast setup bytecode lab lock browser clean clean-venv help

help:
	@sed -n '1,8p' Makefile

CHECK_PYTHON := $(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "casereport needs Python 3.11, found " + sys.version.split()[0]'

# The environment: in VENV_FILES with .venv linked to it, or in a .venv folder already there.
$(BIN)/python:
	@$(CHECK_PYTHON)
	if [ -d $(VENV) ] && [ ! -L $(VENV) ]; then $(PYTHON) -m venv $(VENV); \
	else rm -f $(VENV) && $(PYTHON) -m venv $(VENV_FILES) && ln -s $(VENV_FILES) $(VENV); fi

$(STAMP): pyproject.toml requirements/lock.txt | $(BIN)/python
	@$(CHECK_PYTHON)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name casereport --display-name "Python (casereport)"
	touch $(STAMP)

setup: $(STAMP)

# The package's own modules compiled to bytecode (src/**/__pycache__, as pip compiles every
# module it installs). An editable install leaves its sources to the import system, which
# writes nothing where PYTHONDONTWRITEBYTECODE is set (as in many container images and on
# the CI machine): there every process compiled the package again, each notebook kernel
# included (about 35 ms a kernel and 30 ms a `casereport` command). compileall skips the
# files whose bytecode is up to date, and an edited module's stale bytecode is never used.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

# Under CI (CI=true, as GitHub Actions sets it) a Quarto warning fails the build.
STRICT := $(if $(filter true,$(CI)),--strict,)

report: bytecode
	$(BIN)/casereport build --jobs $(JOBS) $(STRICT)

browser:
	@bash scripts/ensure-chromium.sh

# Two processes (pytest-xdist), a test file each at a time (--dist loadfile: the fixtures
# a file shares are made once); the session build is made once for both (tests/conftest.py).
test: bytecode browser
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

# The unit tier: tests marked slow (real notebooks or builds), quarto or browser are left out.
# It runs on $(JOBS) processes (pytest-xdist): none of its tests shares a build.
test-fast: bytecode
	$(BIN)/python -m pytest -m "not slow and not quarto and not browser" -n $(JOBS) $(PYTEST_ARGS)

lab: bytecode
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

# Refresh the pins: resolve the newest versions allowed by pyproject.toml,
# then copy them into environment.yml (tests/test_environment.py checks both agree).
# The lock is complete, so it installs with --no-deps. rfc3987-syntax is left out on
# purpose: jsonschema imports it when present and it builds an Earley parser at
# import (seconds in every notebook kernel that validates data); nothing here
# needs IRI format checks. See benchmarks/results.md.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --extra dev \
		--python-version 3.11 --python-platform linux --upgrade \
		--no-emit-package rfc3987-syntax -o requirements/lock.txt
	$(BIN)/python scripts/sync_environment.py

clean:
	rm -rf build .casereport-cache _manuscript .quarto _variables.yml

# The environment (its files, wherever .venv points) and the link.
clean-venv:
	rm -rf "$$(readlink -f $(VENV))" $(VENV)
