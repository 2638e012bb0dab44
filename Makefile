# Two commands on a fresh machine: `make app` (install, build the index, start the web app)
# and `make test` (install, run the whole test suite). Both create or reuse .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INDEX ?= indexes
CORPUS ?= corpus
PORT ?= 8501

.PHONY: install index app serve ask test bench eval reranker selector cross-encoder span-reader clean

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

# The HTTP API on 127.0.0.1:8765 (OpenAPI at /docs); uploads are saved into CORPUS and indexed.
serve: index
	$(BIN)/lifqa serve --index $(INDEX) --corpus $(CORPUS)

ask: index
	$(BIN)/lifqa ask "Which receptor subunit does LIF share with IL-6?" --index $(INDEX)

test: install
	$(BIN)/python -m pytest

bench: index
	$(BIN)/python bench/latency.py

# Evaluation of the LIF gold test split, every mode; the report is what the web app's Evaluation view shows.
eval: index
	$(BIN)/lifqa eval --gold $(CORPUS)/gold/lif_questions.jsonl --corpus $(CORPUS) --split test --report reports/latest

# Retrain the shipped reranker (lifqa/data/reranker.json) on train splits only; needs the public data in EVAL_DATA.
EVAL_DATA ?= ../shared/eval
reranker: install
	$(BIN)/lifqa train-reranker --gold $(CORPUS)/gold/lif_questions.jsonl $(CORPUS) \
		--gold $(EVAL_DATA)/covid-qa/gold.jsonl $(EVAL_DATA)/covid-qa/corpus.jsonl --beir $(EVAL_DATA)/scifact --weight scifact=2

# Retrain the shipped answer-sentence selector (lifqa/data/selector.json) on train splits only (COVID-QA train, LIF gold train).
selector: install
	$(BIN)/lifqa train-selector --gold $(EVAL_DATA)/covid-qa/gold.jsonl $(EVAL_DATA)/covid-qa/corpus.jsonl \
		--gold $(CORPUS)/gold/lif_questions.jsonl $(CORPUS)

# Retrain the shipped relevance model (lifqa/data/relevance.safetensors + .json) on train splits only (COVID-QA train,
# LIF gold train); seeded, about 20 minutes on 2 cores. Run after make selector: it is combined with the selector.
cross-encoder: install
	$(BIN)/lifqa train-cross-encoder --gold $(EVAL_DATA)/covid-qa/gold.jsonl $(EVAL_DATA)/covid-qa/corpus.jsonl \
		--gold $(CORPUS)/gold/lif_questions.jsonl $(CORPUS)

# Retrain the shipped span reader (lifqa/data/span_reader.safetensors + .json), which marks the short answer, on train
# splits only (COVID-QA train, LIF gold train); seeded, about 25 minutes on 2 cores. Run after make selector: held
# questions are answered with the shipped selector.
span-reader: install
	$(BIN)/lifqa train-span-reader --gold $(EVAL_DATA)/covid-qa/gold.jsonl $(EVAL_DATA)/covid-qa/corpus.jsonl \
		--gold $(CORPUS)/gold/lif_questions.jsonl $(CORPUS)

clean:
	rm -rf $(INDEX)/CURRENT $(INDEX)/build-* $(INDEX)/.tmp-build-* $(INDEX)/embeddings $(INDEX)/documents.sqlite
