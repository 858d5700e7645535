# neurodeploy: `make demo` and `make test` set up .venv (Python 3.10, pinned set) when needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# lava-nc 0.10 needs Python 3.10: python3.10 on PATH if it runs, else pyenv's 3.10.13.
PYTHON310 := $(shell for p in python3.10 "$$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python3.10"; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x $(PY) ]; then \
		if [ -z "$(PYTHON310)" ]; then echo "error: Python 3.10 not found (tried python3.10 and pyenv's 3.10.13)" >&2; exit 1; fi; \
		echo "creating $(VENV) with $(PYTHON310)"; "$(PYTHON310)" -m venv $(VENV); fi
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt pip setuptools wheel
	$(PY) -m pip install -q --disable-pip-version-check --only-binary=:all: -c constraints.txt \
		$$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' constraints.txt | grep -vix 'pip\|setuptools\|wheel')
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e '.[test,spinnaker,lava]'
	$(PY) -m pip check
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/neurodeploy run ca3-cam --param cue_size=5 --param content_size=10 \
		--protocol models/protocols/ca3-cam-exp1.json --backend brian2 --out runs/demo-ca3-cam

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
