# The two front-door commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_ENV := TRUSTDESK_DATA_DIR=$${TRUSTDESK_DATA_DIR:-var/demo} TRUSTDESK_RELAX_TOTP=1

.PHONY: demo test install bench-intake

$(BIN)/trustdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/trustdesk

# The host-platform sandbox (http://127.0.0.1:8900/), the DSA sandbox (statements of reasons,
# http://127.0.0.1:8901/api/v1/statements) and the NCMEC CyberTipline sandbox
# (http://127.0.0.1:8910/ispws, where reports go by default) run beside the console and stop with it.
demo: install
	$(DEMO_ENV) $(BIN)/trustdesk db upgrade
	$(DEMO_ENV) $(BIN)/trustdesk demo
	$(BIN)/trustdesk sandbox host --port 8900 --demo & sandbox=$$!; \
	  $(BIN)/trustdesk sandbox dsa --port 8901 & dsa=$$!; \
	  $(BIN)/trustdesk sandbox ncmec --port 8910 & ncmec=$$!; \
	  trap 'kill $$sandbox $$dsa $$ncmec 2>/dev/null' EXIT INT TERM; \
	  $(DEMO_ENV) $(BIN)/trustdesk serve --host 127.0.0.1 --port 8000

test: install
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: browser tests will be skipped"; }
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto

bench-intake: install
	$(BIN)/python bench/intake.py
