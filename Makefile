# The two entry points: `make serve` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: serve test test-fast lint typecheck format bench clean lock fuzz ui-screenshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# constraints.txt pins every package (direct and transitive) so installs are reproducible;
# `make lock` rewrites it from a fresh resolve of pyproject.toml.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Capture over SMTP AUTH is on for a developer's own server (loopback only without TLS).
serve: $(VENV)/.installed
	INBOXKIT_SMTP_CAPTURE=$${INBOXKIT_SMTP_CAPTURE:-true} $(BIN)/inboxkit serve

# The suite runs on every core (pytest-xdist). Each worker is its own pytest session with its
# own SQLite template, PostgreSQL database and Redis database (tests/conftest.py); tests that
# share something else are pinned to one worker with @pytest.mark.xdist_group, which
# --dist loadgroup honours. PYTEST_WORKERS=0 runs serially; PYTEST_ARGS adds pytest options.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The tests that need no running service: parsing, extraction, rendering, validation.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not service" $(PYTEST_ARGS)

# docs/ui.png (the README's screenshot), made by the browser test in the system's Chromium.
ui-screenshot: $(VENV)/.installed-dev
	INBOXKIT_UI_DOCS_SCREENSHOT=1 INBOXKIT_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 0 -q \
	  "tests/ui/test_browser.py::test_signed_in_person_watches_mail_arrive_reads_it_and_signs_out[sqlite]"

# Every check runs, each under a one-line header; the target fails if any of them failed.
lint: $(VENV)/.installed-dev
	@failed=""; \
	echo "==> ruff check src tests bench"; \
	$(BIN)/ruff check src tests bench || failed="$$failed ruff-check"; \
	echo "==> ruff format --check src tests bench"; \
	$(BIN)/ruff format --check src tests bench || failed="$$failed ruff-format"; \
	echo "==> mypy (src/inboxkit)"; \
	$(BIN)/mypy || failed="$$failed mypy"; \
	echo "==> lint-imports (package dependency contracts)"; \
	$(BIN)/lint-imports || failed="$$failed lint-imports"; \
	if [ -n "$$failed" ]; then echo "==> FAILED:$$failed"; exit 1; fi; \
	echo "==> all checks passed"

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^inboxkit' > constraints.txt
	rm -rf .lock-venv

# Coverage-guided fuzzing of the parser, the extractor and the HTML renderer (bench/fuzz.py);
# findings land in bench/.tools/fuzz/. FUZZ_MINUTES is the total, shared by the targets.
FUZZ_MINUTES ?= 3
fuzz: $(VENV)/.installed-dev
	$(BIN)/python bench/fuzz.py --minutes $(FUZZ_MINUTES)

clean:
	rm -rf $(VENV) data .pytest_cache
