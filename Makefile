# theano-twins: `make certify` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NP2    := .venv-np2
JOBS   ?= 2

.PHONY: venv certify test bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[theano,harness,plots]"
# Lasagne 0.1 and Keras 1.2.2 (the Theano-era references, run through layers_theano.theano_compat)
# are installed --no-deps: their metadata asks for Theano itself, which does not build on 3.11.
	$(BIN)/python -m pip install -q --no-deps lasagne==0.1 keras==1.2.2
	touch $(STAMP)

venv: $(STAMP)

# Fuzz every built-in layer pair against Theano (derandomized ci profile); reports in reports/.
certify: $(STAMP)
	$(BIN)/twins certify --profile ci --report-dir reports --zoo

# Lint (ruff, rules in pyproject.toml), then the project's tests plus certification of every registered pair, on both cores.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(JOBS) --twins-profile=ci -q --ignore=tests/np2_runtime
	BASE_PYTHON=$(PYTHON) PYTHON=$(BIN)/python NP2_VENV=$(NP2) scripts/np2_check.sh

bench: $(STAMP)
	$(BIN)/twins bench

clean:
# reports/README.md is tracked: everything else in reports/ is generated
	rm -rf $(VENV) $(NP2)
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
