# Two commands on a fresh machine: `make app` (install, build the index, start the web app)
# and `make test` (install, run the whole test suite). Both create or reuse .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INDEX ?= indexes
CORPUS ?= corpus
PORT ?= 8501

.PHONY: install index app ask test bench eval clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

index: install
	$(BIN)/lifqa index --corpus $(CORPUS) --index $(INDEX)

app: index
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

ask: index
	$(BIN)/lifqa ask "Which receptor subunit does LIF share with IL-6?" --index $(INDEX)

test: install
	$(BIN)/python -m pytest

bench: index
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(INDEX)/CURRENT $(INDEX)/build-* $(INDEX)/.tmp-build-*
