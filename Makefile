# kubectl-aiconf developer targets. Needs only python3 (>= 3.10) for venv/zipapp/release/unit, and Go for
# the sandbox control plane (binaries) and krew.
#
#   make venv      .venv with the project (editable) and the dev tools
#   make zipapp    dist/kubectl-aiconf: one pure-Python shiv file, any CPython >= 3.10
#   make release   dist/kubectl-aiconf.tar.gz + dist/krew-manifest.yaml (sha256 filled in)
#   make binaries  build/cache kube-apiserver, etcd, kwok, kubectl under ~/.cache/kubectl-aiconf, for each
#                  Kubernetes version of the matrix (tests/sandbox/versions.env)
#   make real-node build/cache the real node's kubelet, containerd, runc, CNI plugins and images (same cache)
#   make components build/cache controller-gen, the components' generated CRDs, Kueue, KubeRay, Prometheus Operator
#                  (and Karpenter with its kwok provider, the NVIDIA GPU Operator)
#   make krew      build/cache krew and validate-krew-manifest under ~/.cache/kubectl-aiconf
#   make unit      fast tests: no Go, no ../shared, no browser (not tests/integration, packaging, shared, browser)
#   make lint      ruff (lint and format check) and mypy, configured in pyproject.toml
#   make format    let ruff format the code and fix what it can
#   make test      lint, binaries, real-node, krew, zipapp, then every test (unit and integration)
#   make demo      the zipapp against a sandbox (ai-platform scenario): check, then --probe on a real node
#   make bench     benchmarks (bench/run.py)
#   make mutate    mutation run over checks/ (bench/mutate.py; not in CI; MUTATE_ARGS='--sample 40 --jobs 4')
#   make clean     remove dist/ and build/ (the venv and ~/.cache stay)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.kubectl-aiconf-installed
ZIPAPP := dist/kubectl-aiconf
RELEASE := dist/kubectl-aiconf.tar.gz dist/krew-manifest.yaml
PYTEST_ARGS ?=
# `make test` runs the tests in this many processes (pytest-xdist): the integration tests mostly wait for a
# cluster, so on 2 cores 3 workers take about half the time of one (tests/conftest.py keeps modules whole
# and the real node's modules together).
TEST_WORKERS ?= 3

# Everything the zipapp is built from. Package directories are listed too, so that deleting or adding a
# module triggers a rebuild.
ZIPAPP_INPUTS := pyproject.toml LICENSE \
  .ci/build_zipapp.py .ci/zipapp-requirements.txt .ci/zipapp-build-constraints.txt .ci/kubectl_aiconf_preamble.py \
  $(shell find kubectl_aiconf \( -name __pycache__ -o -name '*.egg-info' \) -prune -o \( -type f ! -name '*.pyc' -print \) -o \( -type d -print \))

.PHONY: help venv zipapp release binaries real-node components krew test unit lint format demo bench clean

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "kubectl-aiconf needs python3 >= 3.10, $(PYTHON) is " + sys.version.split()[0])'
	@if [ ! -x $(VPY) ]; then \
	  echo "creating $(VENV) with $$($(PYTHON) --version)"; \
	  $(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }; \
	fi
	$(VPY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

zipapp: $(ZIPAPP)

$(ZIPAPP): $(VENV_STAMP) $(ZIPAPP_INPUTS)
	$(VPY) .ci/build_zipapp.py --output $@

release: $(RELEASE)

$(RELEASE) &: $(ZIPAPP) LICENSE krew-manifest.yaml kubectl_aiconf/__init__.py .ci/release.py
	$(VPY) .ci/release.py

binaries:
	tests/sandbox/build.sh matrix >/dev/null

real-node:
	tests/sandbox/build.sh real-node >/dev/null

components:
	tests/sandbox/build.sh components >/dev/null
	tests/sandbox/build.sh karpenter >/dev/null
	tests/sandbox/build.sh gpu-operator >/dev/null

krew:
	.ci/build-krew.sh >/dev/null

unit: venv
	$(VPY) -m pytest -q tests --ignore=tests/integration -m "not packaging and not shared and not browser" $(PYTEST_ARGS)

LINTED := kubectl_aiconf tests bench .ci

lint: venv
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix $(LINTED)
	$(VENV)/bin/ruff format $(LINTED)

test: lint binaries real-node components krew zipapp
	$(VPY) -m pytest -q tests -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The read-only check, then `check --probe` on the sandbox's real node (tests/sandbox/demo.py; check's exit
# codes 1 and 3 are verdicts, not demo failures). The real node needs root: without it, the read-only check only.
# The demo runs the pinned Kubernetes version only, so it builds that control plane, not the whole matrix.
demo: venv zipapp
	tests/sandbox/build.sh control-plane >/dev/null
	@if [ "$$(id -u)" = 0 ]; then tests/sandbox/build.sh real-node >/dev/null; real=--real-node; \
	else echo "make demo: not root, so no real node and no probe (the read-only check only)" >&2; real=; fi; \
	$(VPY) -m tests.sandbox run --scenario ai-platform $$real -- $(VPY) tests/sandbox/demo.py ./$(ZIPAPP)

bench: venv
	$(VPY) bench/run.py

# Sampled single-point mutants of kubectl_aiconf/checks/, each run against the checks' unit tests; writes
# build/mutation-report.txt. Slow (minutes), so not part of `make test`.
.PHONY: mutate
mutate: venv
	$(VPY) bench/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf dist build
