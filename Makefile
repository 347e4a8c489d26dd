# The two entry points: `make serve` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: serve test lint bench clean lock fuzz

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

serve: $(VENV)/.installed
	$(BIN)/inboxkit serve

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench

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
