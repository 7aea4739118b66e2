# The workbook's commands. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
# bytecode caches for labkit and the tests: some machines switch them off, and then every kernel
# and test worker compiles labkit again
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
KERNEL := messaging-workbook
NOTEBOOK_DIR ?= notebooks
# JupyterLab refuses to run as root unless told (containers and CI machines run as root)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# checkov (tests/test_terraform.py) in its own environment: its pins conflict with labkit's
CHECKOV := $(VENV)/checkov/bin/checkov
NBVAL := -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg

.PHONY: lab test lint unit checkov notebooks-check notebooks-endpoint notebooks property bench html \
	moto-suites clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Messaging & Events (labkit)" >/dev/null
	rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV): tests/tools/checkov-requirements.txt
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet -r tests/tools/checkov-requirements.txt
	touch $@

## make checkov: install checkov into .venv/checkov (make test and make unit do it when needed)
checkov: $(CHECKOV)

## make lab: install if needed, then open JupyterLab on the notebooks
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=$(NOTEBOOK_DIR) $(ROOT_FLAG) $(LAB_ARGS)

## make test: lint, then one pool of two workers for labkit's tests and every notebook strictly
## on embedded and on endpoint (tests/nbbackends.py: longest work first, a notebook whole on one
## worker, a labkit server per worker for the endpoint runs, kernels forked from a warm process)
test: $(STAMP) $(CHECKOV) lint
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --doctest-modules \
		-p tests.nbbackends --nbval-endpoint --nbval-fork-kernels $(NBVAL) notebooks labkit tests

lint: $(STAMP)
	$(VENV)/bin/ruff check labkit tests
	$(VENV)/bin/ruff format --check labkit tests

## the pieces of make test on their own
unit: $(STAMP) $(CHECKOV)
	$(PY) -m pytest -q -n 2 --doctest-modules labkit tests

notebooks-check: $(STAMP)
	LABKIT_STRICT_PLOTS=1 $(PY) -m pytest -q $(NBVAL) notebooks

notebooks-endpoint: $(STAMP)
	LABKIT_STRICT_PLOTS=1 $(PY) -m labkit.server --port 0 -- $(PY) -m pytest -q $(NBVAL) notebooks

## make notebooks: write the solutions notebooks from the lessons (tests/tools/solutions.py), then
## re-execute every notebook and store its outputs (never edit outputs by hand); NB=<lesson> runs
## that lesson and its solutions (a path, or a name: NB=05-decoupling)
NB_PATH = $(if $(NB),$(if $(wildcard $(NB)),$(NB),notebooks/$(basename $(notdir $(NB))).ipynb))
notebooks: $(STAMP)
	@test -z "$(NB)" -o -f "$(NB_PATH)" || { echo "NB=$(NB): no lesson $(NB_PATH); the lessons:" \
		$$(ls notebooks/*.ipynb | xargs -n1 basename | sed 's/.ipynb//'); exit 2; }
	built=$$($(PY) tests/tools/solutions.py build $(NB_PATH)) && \
		$(PY) tests/tools/execute_notebooks.py $(if $(NB),$(NB_PATH) $$built)

## make property: the property tests at full size (200 examples each; make test draws fewer)
property: $(STAMP)
	LABKIT_PROPERTY_EXAMPLES=200 $(PY) -m pytest -q -n 2 -p no:cacheprovider \
		tests/test_saga.py tests/test_nothing_lost.py tests/test_fastpath.py tests/test_workflows.py \
		tests/test_outbox.py -k "saga_ends_consistent or applied_once or observably_identical \
		or processed_or_reported or loses_no_event" \
		--hypothesis-show-statistics

## make html: every executed lesson and solution as static pages in html/ (no Jupyter needed)
html: $(STAMP)
	rm -rf html
	$(PY) tests/tools/render_html.py html

## make moto-suites: moto's own test suites for the services labkit changes, on stock moto and
## with labkit's changes held; fails on a difference not listed in
## tests/tools/moto_suite_differences.toml (downloads moto's sdist into .cache/; not in make test;
## SUITES=test_sqs for one suite)
moto-suites: $(STAMP)
	$(PY) -m pip install --quiet -r tests/tools/moto_suites_requirements.txt
	$(PY) tests/tools/moto_suites.py $(SUITES)

bench: $(STAMP)
	@for f in tests/bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) html
