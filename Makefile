# erpflow: `make run` serves the app with demo data; `make test` runs every check CI runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# Tests and benchmarks run on the machine's real services; override to point elsewhere.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/erpflow
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_MYSQL_URL ?= mysql://root@127.0.0.1:3306/test
# The suite's connectors reach the local services: loopback and erpflow's own PostgreSQL are allowed
# explicitly through the network policy (see README, "Network policy"), never by switching it off.
TEST_NETWORK_POLICY := ERPFLOW_EGRESS_ALLOWED_NETWORKS=127.0.0.1/32,::1/128 ERPFLOW_EGRESS_ALLOW_INTERNAL=127.0.0.1:5432

.PHONY: run test lint bench frontend install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,mysql,oracle,sap]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PYTHON=$(PY) bin/run

# The import layers (pyproject.toml, [tool.importlinter]; README "Architecture") are checked with the style.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The canvas editor: npm ci when the lockfile changed, then Vite builds into static/editor/ (committed).
NODE_STAMP := frontend/node_modules/.installed

$(NODE_STAMP): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

frontend: $(NODE_STAMP)
	cd frontend && npm run build

# bin/test-setup installs what the machine lacks for the suite (Debian's chromium) or says what to install.
test: $(STAMP) $(NODE_STAMP)
	bin/test-setup
	$(MAKE) lint
	cd frontend && npm run typecheck && npm test
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run
	# Production settings must pass Django's deployment checks without a single warning.
	DEBUG=0 SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
		ERPFLOW_ENCRYPTION_KEYS=$$($(PY) -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())') \
		ALLOWED_HOSTS=erpflow.example.com DATABASE_URL=$(TEST_DATABASE_URL) \
		$(PY) manage.py check --deploy --fail-level WARNING
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) ERPFLOW_TEST_MYSQL_URL=$(TEST_MYSQL_URL) \
		$(TEST_NETWORK_POLICY) $(VENV)/bin/pytest

bench: $(STAMP)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(TEST_NETWORK_POLICY) $(PY) -m bench

clean:
	rm -rf $(VENV) var
