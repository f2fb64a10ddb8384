# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ganedge-installed
# Extras the demo and the tests need on a CPU machine (never `gpu` beside `cpu`).
EXTRAS ?= train,cpu,openvino,bench,dev,video

.PHONY: demo test setup wheel clean web-deps chromium

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m ganedge.demo

test: $(STAMP) web-deps
	$(PY) -m pytest -q

# --- web target (`ganedge export web`) -------------------------------------------------------
# npm packages pinned by export/web/package-lock.json (onnxruntime-web, shipped into sites, and
# onnxruntime-node for the tests), and Debian's Chromium for the browser tests: installed only
# when missing and only as root. Without npm or Chromium the web tests skip with a reason,
# except under GANEDGE_REQUIRE_WEB=1 (.ci/run sets it), where they fail.
WEB := export/web
NPM_STAMP := $(WEB)/node_modules/.ganedge-installed

web-deps: $(NPM_STAMP) chromium

$(NPM_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@if command -v npm >/dev/null; then cd $(WEB) && npm ci --no-audit --no-fund && touch node_modules/.ganedge-installed; \
	else echo "npm not found: the web tests will skip (install Node.js 18+ and run make web-deps)"; fi

chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

# The wheel bench/gpu_check.sh installs on a GPU machine (carry dist/ there).
wheel: $(STAMP)
	rm -rf dist build && $(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) demo-out .pytest_cache dist build $(WEB)/node_modules test-artifacts
