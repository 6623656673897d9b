# theano-twins: `make certify` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NP2    := .venv-np2
KERAS2 := .keras2
K2STAMP := $(KERAS2)/.installed-stamp
JOBS   ?= 2
comma  := ,

# PyTensor's compile cache lives in the project (.cache/pytensor, gitignored), so a second run
# is warm and other projects' caches are left alone; a compile directory the user names in
# PYTENSOR_FLAGS (base_compiledir= or compiledir=) wins. `make cachedir` prints where it is.
ifeq ($(findstring compiledir,$(PYTENSOR_FLAGS)),)
export PYTENSOR_FLAGS := $(PYTENSOR_FLAGS)$(if $(PYTENSOR_FLAGS),$(comma))base_compiledir=$(CURDIR)/.cache/pytensor
endif

.PHONY: venv certify test bench clean clean-cache cachedir

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[theano,harness,plots]"
# Lasagne 0.1 and Keras 1.2.2 (the Theano-era references, run through layers_theano.theano_compat)
# are installed --no-deps: their metadata asks for Theano itself, which does not build on 3.11.
	$(BIN)/python -m pip install -q --no-deps lasagne==0.1 keras==1.2.2
	touch $(STAMP)

# Keras 2.3.1 (the last Keras with a Theano backend) is the package `keras` too, so it cannot share
# the venv with Keras 1.2.2: it goes into its own directory, which layers_theano.keras2_zoo puts
# first on sys.path in a process of its own. --no-deps: its import needs only these two packages
# beyond what the venv has (scipy, six, PyYAML; h5py is optional). Its wheel's top-level docs/
# (Keras's doc generator) is removed so that directory shadows nothing.
$(K2STAMP): $(STAMP)
	rm -rf $(KERAS2)
	$(BIN)/python -m pip install -q --no-deps --target $(KERAS2) keras==2.3.1 keras_applications==1.0.8 keras_preprocessing==1.1.2
	rm -rf $(KERAS2)/docs
	touch $(K2STAMP)

venv: $(STAMP) $(K2STAMP)

# Fuzz every built-in layer pair and the zoo networks against Theano (derandomized ci profile)
# in $(JOBS) worker processes, each with its own compile directory under the cache; reports in reports/.
certify: $(STAMP)
	$(BIN)/twins certify --profile ci --report-dir reports --zoo --jobs $(JOBS)

# Lint (ruff, rules in pyproject.toml), then the project's tests plus certification of every registered pair, on both cores.
test: $(STAMP) $(K2STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(JOBS) --twins-profile=ci -q --ignore=tests/np2_runtime
	BASE_PYTHON=$(PYTHON) PYTHON=$(BIN)/python NP2_VENV=$(NP2) scripts/np2_check.sh

bench: $(STAMP)
	$(BIN)/twins bench

cachedir:
	@echo "$(PYTENSOR_FLAGS)" | tr ',' '\n' | sed -n 's/^\(base_\)\{0,1\}compiledir=//p' | tail -n 1

# clean keeps the compile cache (.cache/pytensor: minutes of C compilation, valid across
# checkouts of the same PyTensor); clean-cache removes it, so the next run is cold.
clean:
# reports/README.md is tracked: everything else in reports/ is generated
	rm -rf $(VENV) $(NP2) $(KERAS2)
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +

clean-cache:
	rm -rf .cache/pytensor
