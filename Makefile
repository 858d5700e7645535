# neurodeploy: `make demo` and `make test` set up both environments when needed: .venv (Python 3.13, the
# pinned set of constraints.txt) and .venv-lava (Python 3.10, the Lava worker's, made by `neurodeploy setup-lava`).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAVA_VENV := .venv-lava

# The first of these that runs and is the right version: on PATH, else pyenv's.
find_python = $(shell for p in python$(1) "$$(pyenv root 2>/dev/null)/versions/$(2)/bin/python$(1)"; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(1)".split("."))))' 2>/dev/null \
	&& { echo "$$p"; break; }; done)
PYTHON313 := $(call find_python,3.13,3.13.0)
PYTHON310 := $(call find_python,3.10,3.10.13)

.PHONY: setup lava-env browser demo test clean

setup: $(STAMP) lava-env browser

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x $(PY) ]; then \
		if [ -z "$(PYTHON313)" ]; then echo "error: Python 3.13 not found (tried python3.13 and pyenv's 3.13.0)" >&2; exit 1; fi; \
		echo "creating $(VENV) with $(PYTHON313)"; "$(PYTHON313)" -m venv $(VENV); fi
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt pip setuptools wheel
	$(PY) -m pip install -q --disable-pip-version-check --only-binary=:all: -c constraints.txt \
		$$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' constraints.txt | grep -vix 'pip\|setuptools\|wheel')
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e '.[test,spinnaker]'
	$(PY) -m pip check
	@touch $@

# The Lava environment's own marker says whether it is ready for this clone and these pins (a stamp file
# would not see a moved clone, new worker pins or an interrupted `neurodeploy setup-lava`).
lava-env: $(STAMP)
	@$(PY) -c 'import sys; from pathlib import Path; from neurodeploy.backends.lava.environment import LavaEnvironment; \
		sys.exit(LavaEnvironment(Path("$(LAVA_VENV)").absolute()).problem() is not None)' || { \
		if [ -z "$(PYTHON310)" ]; then echo "error: Python 3.10 not found (tried python3.10 and pyenv's 3.10.13)" >&2; \
		exit 1; fi; \
		echo "$(VENV)/bin/neurodeploy setup-lava --python $(PYTHON310) $(LAVA_VENV)"; \
		$(VENV)/bin/neurodeploy setup-lava --python "$(PYTHON310)" $(LAVA_VENV); }

# The headless browser the report's browser test opens pages in (Debian's chromium and chromium-driver):
# installed when missing where this runs as root with apt-get; elsewhere that test skips, saying why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "apt-get install chromium chromium-driver (the report's browser test)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
			>/dev/null; } || echo "warning: chromium could not be installed: the report's browser test will skip" >&2; \
	else echo "note: no chromium and chromium-driver (apt-get install them as root): the report's browser test will skip" >&2; fi

demo: setup
	$(VENV)/bin/neurodeploy run ca3-cam --param cue_size=5 --param content_size=10 \
		--protocol ca3-cam-exp1 --backend brian2 --out runs/demo-ca3-cam

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q
	$(LAVA_VENV)/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/lava_env tests/lava_env

clean:
	rm -rf $(VENV) $(LAVA_VENV) build *.egg-info
