# Edge Lab Kit — `make lab` opens the labs, `make test` runs every test. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.11 is required (executorch 1.5.1 + torch 2.14.1 wheels). Override: make lab PYTHON=/path/to/python3.11
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# The venv (~6.5 GB). CI clones are fresh, so CI keeps it in a cache folder outside the clone.
ifdef CI
VENV ?= $(HOME)/.cache/edge-lab-kit/venv-py311
else
VENV ?= .venv
endif
# Offline install from a wheelhouse folder (see make wheelhouse): make lab OFFLINE=wheelhouse/
OFFLINE ?=
PIP_SOURCE := $(if $(OFFLINE),--no-index --find-links $(OFFLINE),)
REQUIREMENTS ?= requirements.txt
# The Arm Ethos-U NPU toolchain, installed right after REQUIREMENTS with --no-deps (why: the file's comment)
NPU_REQUIREMENTS ?= requirements-npu.txt
# make wheelhouse PLATFORMS="linux-aarch64 macos-arm64": this machine's wheels plus those platforms'
WHEELHOUSE ?= wheelhouse
PLATFORMS ?=

KERNEL := edge-lab-kit
VPY := $(VENV)/bin/python
# The install stamp is keyed on both requirement files: changing either re-installs
REQ_HASH := $(shell cksum < $(REQUIREMENTS) | cut -d' ' -f1)-$(shell cksum < $(NPU_REQUIREMENTS) | cut -d' ' -f1)
SRC_ID := $(CURDIR) $(shell cksum < pyproject.toml | cut -d' ' -f1)
DEPS_STAMP := $(VENV)/.deps-$(REQ_HASH)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
TEST_ENV := LABKIT_SMOKE=1 LABKIT_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1

.PHONY: help lab test test-params run sweep course wheelhouse android android-tools ui-tools install kernel doctor clean clean-venv

help:
	@echo "make lab    - install (first time ~3 min, ~6.5 GB) and open JupyterLab on notebooks/index.ipynb"
	@echo "make test   - install if needed, then tests/ (2 workers: unit tests, parameter checks, papermill runs, UI) and every notebook (smoke)"
	@echo "make test-params - every lab under papermill with the whole parameter matrix (tests/test_parameter_matrix.py)"
	@echo "make run    - run every lab once in full mode (SMOKE=1: smoke, ONLY=\"00 04\": some) → results/kit/report.html"
	@echo "make sweep GRID=sweeps/<grid>.yaml - run a lab over a parameter grid → results/<name>/report.html"
	@echo "make course - record the last make run's times and regenerate the course map, schedules, lab time lines"
	@echo "make wheelhouse [PLATFORMS=\"linux-aarch64 macos-arm64\"] - download every pinned wheel for offline installs"
	@echo "make android - export the Android demo's assets (labkit export-android) and run its checks"
	@echo "make doctor - check the environment and print fixes"
	@echo "variables: VENV=$(VENV) PYTHON=$(PYTHON) OFFLINE=$(OFFLINE)"

# Two makes at once (two clones sharing CI's venv) take turns: each installs under the venv's lock
# (flock, where the system has it) and checks again once it holds it.
VENV_LOCK := exec 9>"$(VENV).lock"; if command -v flock >/dev/null; then flock 9; fi

$(DEPS_STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, $(PYTHON) is " + sys.version.split()[0] + ": run make lab PYTHON=/path/to/python3.11")'
	@mkdir -p "$$(dirname "$(VENV)")"; $(VENV_LOCK); set -e; if [ ! -f $@ ]; then \
	  test -x $(VPY) || $(PYTHON) -m venv $(VENV); \
	  echo "$(strip $(VPY) -m pip install $(PIP_SOURCE) -r $(REQUIREMENTS))"; \
	  $(VPY) -m pip install --disable-pip-version-check --no-input $(PIP_SOURCE) -r $(REQUIREMENTS); \
	  echo "$(strip $(VPY) -m pip install $(PIP_SOURCE) --no-deps -r $(NPU_REQUIREMENTS))"; \
	  $(VPY) -m pip install --disable-pip-version-check --no-input $(PIP_SOURCE) --no-deps -r $(NPU_REQUIREMENTS); \
	  rm -f $(VENV)/.deps-*; touch $@; fi

# Re-installs labkit (editable, seconds) only when the venv imports it from elsewhere (another checkout, a
# moved one) or pyproject.toml changed. The tests import this checkout's labkit whatever the venv points at (conftest.py).
install: $(DEPS_STAMP)
	@$(VENV_LOCK); if [ "$$(cat $(VENV)/.labkit-src 2>/dev/null)" != "$(SRC_ID)" ] || \
	  [ "$$($(VPY) -I -c 'import importlib.util as u; print(u.find_spec("labkit").origin)' 2>/dev/null)" != "$(CURDIR)/labkit/__init__.py" ]; then \
	  $(VPY) -m pip install --disable-pip-version-check --no-input --no-deps --no-build-isolation -e . >/dev/null && \
	  echo "$(SRC_ID)" > $(VENV)/.labkit-src && echo "labkit installed from $(CURDIR)"; fi

# labkit.workshop.kernel: IPython's kernel reporting Python as "3.11", the language_info every notebook stores, so
# JupyterLab does not mark a notebook modified when it opens (see labkit/workshop/kernel.py). Re-registers older installs.
kernel: install
	@grep -qs labkit.workshop.kernel $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json || \
	  $(VPY) -m labkit.workshop.kernel --name $(KERNEL) --display-name "Python 3.11 (Edge Lab Kit)"

# Root is common in containers and WSL; Jupyter refuses it unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS) notebooks/index.ipynb

doctor: kernel
	$(VENV)/bin/labkit doctor

# tests/ on TEST_WORKERS processes (pytest-xdist: unit tests, parameter checks and matrix, UI), then every notebook
# under nbval on its own, so the labs' timings run on an otherwise quiet machine. Both always run; either failing fails.
TEST_WORKERS ?= 2
test: kernel android-tools ui-tools
	@$(TEST_ENV) $(VPY) -m pytest -n $(TEST_WORKERS) tests; tests=$$?; \
	$(TEST_ENV) $(VPY) -m pytest notebooks; notebooks=$$?; \
	echo "make test: tests/ exit $$tests, notebooks/ exit $$notebooks"; [ $$tests = 0 ] && [ $$notebooks = 0 ]

# Every lab under papermill with every combination of tests/test_parameter_matrix.py (make test runs one per lab)
test-params: kernel
	$(TEST_ENV) LABKIT_PARAM_MATRIX=full $(VPY) -m pytest tests/test_parameter_matrix.py tests/test_parameter_checks.py

run: kernel
	$(VENV)/bin/labkit run-labs --kernel $(KERNEL) $(if $(SMOKE),--smoke,) $(if $(ONLY),--only $(ONLY),)
	@echo "to put these run times into the course map: make course"

# The run times of the last `make run` (results/kit) and `make run SMOKE=1` (results/kit-smoke) → the course map
course: install
	$(VENV)/bin/labkit course $(if $(wildcard results/kit/*/*/status.json),--record-full results/kit,) \
	  $(if $(wildcard results/kit-smoke/*/*/status.json),--record-smoke results/kit-smoke,) --write

# Needs no venv: the system Python's pip downloads (from the machine's configured index); NPU_REQUIREMENTS with --no-deps.
wheelhouse:
	$(PYTHON) -m labkit.workshop.wheelhouse --requirements $(REQUIREMENTS) --no-deps-requirements $(NPU_REQUIREMENTS) --dest $(WHEELHOUSE) $(foreach p,$(PLATFORMS),--platform $(p))

# make sweep GRID=sweeps/08_threads_precision.yaml — one run per combination, resumable, with a report
sweep: kernel
	@test -n "$(GRID)" || { echo "usage: make sweep GRID=sweeps/<grid>.yaml"; exit 2; }
	$(VENV)/bin/labkit sweep --kernel $(KERNEL) --grid $(GRID)

# Debian packages for the Android checks (aapt2, framework-res.apk, JUnit 4; the JDK is already there).
# Installed when missing and we are root with apt (CI); otherwise the Android tests skip with this message.
ANDROID_DEBS := aapt android-framework-res junit4
# Two makes at once take turns at apt (flock), and apt-get waits for a dpkg lock another program holds
APT_GET := $(if $(shell command -v flock 2>/dev/null),flock /tmp/edge-lab-kit-apt.lock,) apt-get -o DPkg::Lock::Timeout=900
android-tools:
	@if command -v aapt2 >/dev/null && [ -f /usr/share/android-framework-res/framework-res.apk ] && [ -f /usr/share/java/junit4.jar ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing $(ANDROID_DEBS) for the Android checks"; export DEBIAN_FRONTEND=noninteractive; \
	  $(APT_GET) install -y -qq --no-install-recommends $(ANDROID_DEBS) >/dev/null 2>&1 || \
	  { $(APT_GET) update -qq >/dev/null && $(APT_GET) install -y -qq --no-install-recommends $(ANDROID_DEBS) >/dev/null; }; \
	else echo "note: the Android checks will be skipped: install $(ANDROID_DEBS) (Debian/Ubuntu) and a JDK"; fi

# Debian's Chromium for tests/test_ui.py (JupyterLab driven by Playwright, pinned in requirements.txt; its
# own browser downloads are not used). Installed when missing and we are root with apt (CI); otherwise those tests skip.
ui-tools:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the JupyterLab UI tests"; export DEBIAN_FRONTEND=noninteractive; \
	  $(APT_GET) install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	  { $(APT_GET) update -qq >/dev/null && $(APT_GET) install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "note: could not install chromium: the JupyterLab UI tests will be skipped"; \
	else echo "note: the JupyterLab UI tests will be skipped: install chromium (Debian: apt-get install chromium)"; fi

# The app's assets into android_demo/app/src/main/assets (+ golden files), then the checks CI runs
android: install android-tools
	$(VENV)/bin/labkit export-android
	$(PYTHON) android_demo/ci/check.py --golden android_demo/app/src/test/resources/golden

clean:
	rm -rf build results

clean-venv:
	rm -rf $(VENV)
