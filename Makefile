# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ganedge-installed
# Extras the demo and the tests need on a CPU machine (never `gpu` beside `cpu`).
EXTRAS ?= train,cpu,bench,dev,video

.PHONY: demo test setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m ganedge.demo

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) demo-out .pytest_cache
