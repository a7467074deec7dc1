# The two commands a user types: `make run` and `make test`. Both set themselves up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SIM_PORT ?= 3002
PORT   ?= 3001

.PHONY: setup run demo test test-fast test-logout test-grid test-campaign grid bench lint browser screenshot clean

setup: $(STAMP) browser

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Debian's chromium and chromium-driver; installed with apt-get when missing and we are root.
browser:
	@sh scripts/ensure-chromium.sh

# Java (Debian's default-jre-headless) and the Selenium Grid jar (npm) in .grid/, for tests/test_grid.py.
# When they cannot be installed, those tests are skipped and say why.
grid:
	@sh scripts/ensure-grid.sh >/dev/null || echo "make grid: no Selenium Grid here; tests/test_grid.py will be skipped"

run: setup
	$(PY) app.py

# The service plus the bundled WhatsApp Web simulator, offline.
demo: setup
	$(PY) scripts/demo.py --port $(PORT) --sim-port $(SIM_PORT)

test: setup grid
	$(PY) -m pytest $(PYTEST_ARGS)

# What needs no browser and no `python app.py` run (tests are marked from their fixtures in tests/conftest.py):
# the edit-test loop, in well under a minute. CI still runs `make test`.
test-fast: setup
	$(PY) -m pytest -m "not browser and not e2e" -q $(PYTEST_ARGS)

test-logout: setup
	$(PY) -m pytest -m logout -v $(PYTEST_ARGS)

test-grid: setup grid
	$(PY) -m pytest -m grid -v $(PYTEST_ARGS)

# The long stop campaign (tests/campaign.py): 32 reminders through 16 stops of every kind; prints its figures.
test-campaign: setup
	WA_CAMPAIGN=long $(PY) -m pytest -s -q tests/test_stop_campaign.py $(PYTEST_ARGS)

bench: setup
	@sh bench/ensure-wrk.sh
	$(PY) bench/run.py

# Refresh the README's picture: the front-desk test shows a QR in real Chromium and saves it in test-output/.
screenshot: setup
	$(PY) -m pytest -q "tests/test_front_desk_page.py::test_front_desk_links_sees_logout_and_resets"
	cp test-output/page/02-qr.png docs/screenshot.png

# ruff, then the layering (pyproject.toml [tool.importlinter]: one way down, no circle in any package).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output .grid
