# The two commands a user types: `make run` and `make test`. Both set themselves up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SIM_PORT ?= 3002
PORT   ?= 3001

.PHONY: setup run demo test test-logout bench lint browser clean

setup: $(STAMP) browser

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Debian's chromium and chromium-driver; installed with apt-get when missing and we are root.
browser:
	@sh scripts/ensure-chromium.sh

run: setup
	$(PY) app.py

# The service plus the bundled WhatsApp Web simulator, offline.
demo: setup
	$(PY) scripts/demo.py --port $(PORT) --sim-port $(SIM_PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-logout: setup
	$(PY) -m pytest -m logout -v $(PYTEST_ARGS)

bench: setup
	@sh bench/ensure-wrk.sh
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
