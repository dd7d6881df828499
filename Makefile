# The two commands of the README: `make demo` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-django bench lint conformance install clean

$(INSTALLED): pyproject.toml emulator/pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./emulator -e '.[emulator,oidc,dev]' -c constraints.txt
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	mkdir -p data
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python example_project/demo.py

test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The Django-facing tests (all but tests/emulator and tests/packaging) on Django 6.0 and 6.1, each
# in its own .venv-django<series> (scripts/django_matrix.py); `make test` covers Django 5.2 LTS.
# One series: make test-django DJANGO=6.1.
test-django:
	$(PYTHON) scripts/django_matrix.py $(DJANGO) -- $(PYTEST_ARGS)

# The ORM against Django's own on the same rows: 3,400 drawn cases per model (20,400 in all), from
# a random seed, printed (replay: JANITOR_CONFORMANCE_SEED=<seed> make conformance).
conformance: $(INSTALLED)
	JANITOR_CONFORMANCE_EXAMPLES=$${JANITOR_CONFORMANCE_EXAMPLES:-3400} \
	JANITOR_CONFORMANCE_SEED=$${JANITOR_CONFORMANCE_SEED:-random} \
	$(BIN)/python -m pytest tests/orm/conformance -p no:cacheprovider -q -rA $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(BIN)/python benchmarks/emulator_list.py
	$(BIN)/python benchmarks/seed_time.py
	$(BIN)/python benchmarks/parse_runs.py
	$(BIN)/python benchmarks/client_vs_httpx.py
	$(BIN)/python benchmarks/orm_bench.py
	$(BIN)/python benchmarks/render_bench.py

lint: $(INSTALLED)
	$(BIN)/ruff check janitor_site_django emulator tests example_project benchmarks scripts
	$(BIN)/mypy janitor_site_django emulator/janitor_site_emulator scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/unasync.py --check

clean:
	rm -rf $(VENV) .venv-django* data .pytest_cache .mypy_cache .ruff_cache
