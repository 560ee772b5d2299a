# Two commands: `make run` (Forewarn with demo data, nothing else needed) and `make test`.
# `make test` sets up what the tests need (the venv, Prism, Chromium, nginx) and then only
# what changed: run again, it goes straight to pytest.
PYTHON ?= python3
PORT ?= 8080
VENV := .venv
BIN := $(VENV)/bin
PRISM := node_modules/.bin/prism
# Where tests/browser/conftest.py looks for the browser (Debian's chromium package).
CHROMIUM := /usr/bin/chromium

.PHONY: install run test lint format prism chromium nginx

$(BIN)/forewarn: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	touch $@

install: $(BIN)/forewarn

# The contract tests' mock providers, pinned by package-lock.json.
$(PRISM): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm for the contract tests' Prism: install Debian's nodejs and npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

prism: $(PRISM)

# Debian's chromium, and a CJK font so Japanese pages and emails render as text, not boxes
# (the browser tests screenshot them). Installed with apt when missing and we are root;
# otherwise one line says what to install. Nothing runs when both are present.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

chromium:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium"; \
	[ -e $(CJK_FONT) ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	  else \
	    echo "make test needs Debian's$$missing for the browser tests: sudo apt-get install$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi

# Debian's nginx, which tests/deploy runs with deploy/nginx/forewarn.conf (and
# bench/page.py measures). Installed like chromium (nginx-light, or nginx on releases
# that dropped it); nothing runs when it is there.
NGINX := /usr/sbin/nginx

nginx:
	@if [ ! -x $(NGINX) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && { DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light \
	      || DEBIAN_FRONTEND=noninteractive apt-get install -y nginx; }; \
	  else \
	    echo "make test needs Debian's nginx for tests/deploy: sudo apt-get install nginx-light" >&2; \
	    exit 1; \
	  fi; \
	fi

run: install
	$(BIN)/forewarn run --demo --port $(PORT)

test: install prism chromium nginx
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
