# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ganedge-installed
# Extras the demo and the tests need on a CPU machine (never `gpu` beside `cpu`).
EXTRAS ?= train,cpu,bench,dev

.PHONY: demo test setup wheel clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m ganedge.demo

test: $(STAMP)
	$(PY) -m pytest -q

# The wheel bench/gpu_check.sh installs on a GPU machine (carry dist/ there).
wheel: $(STAMP)
	rm -rf dist build && $(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) demo-out .pytest_cache dist build
