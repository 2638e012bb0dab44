"""Imports run one way: the query side never reaches the build side, and no module imports itself in a loop.

The graph is read from the source with ``ast``: every ``import``/``from ... import`` of a lifqa module,
at module level and inside functions (a deferred import still ties two modules together), relative
imports resolved; imports under ``if TYPE_CHECKING:`` never run and are left out. Importing
``lifqa.a.b`` also runs ``lifqa/a/__init__.py``, so what a module reaches includes its packages.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lifqa"

# What answering a question runs, from an open index to a printed answer; none of it may reach BUILD_SIDE.
QUERY_SIDE = {
    "lifqa.engine": "opens a build and answers: the query path itself",
    "lifqa.search": "the search package: a question in, ranked hits out",
    "lifqa.search.question": "the Question record: cleaned, tokenized, its kind and parts found, encoded, once",
    "lifqa.search.searcher": "filters, BM25 and dense candidates, tier weighting and passage diversity",
    "lifqa.search.rerank": "fusion, reranking, answerability and the index's stored calibration",
    "lifqa.answer": "the answer package: hits in, a cited answer out",
    "lifqa.answer.sentences": "the passages' sentences, their types, and the candidates they make",
    "lifqa.answer.selector": "chooses the answer sentences (and the earlier heuristic, still selectable)",
    "lifqa.answer.compose": "the answer: sentences chosen, parts covered, passages shown, citations, disagreements",
    "lifqa.relevance": "the relevance model (cross-encoder fine-tuned here) that rates answer sentences, loaded on first use",
    "lifqa.answer.short": "the span reader that marks the short answer inside an answer sentence, loaded on first use",
    "lifqa.finetuned": "puts a model fine-tuned here back together from its delta file, sha256 checked",
    "lifqa.tokenize": "the question's BM25 terms and identifiers",
    "lifqa.reliability": "the reliability package; it imports only the tiers",
    "lifqa.reliability.tiers": "tier and flag-kind names, and why a source's flags earn its tier",
    "lifqa.references": "citation labels and pages of each hit",
    "lifqa.encoder": "encodes the question",
    "lifqa.settings": "the query settings an engine opens with",
    "lifqa.types": "the records an answer is made of",
    "lifqa.errors": "the errors a query raises",
    "lifqa.data": "the shipped reranker and selector parameters",
    "lifqa.render": "an answer as terminal text",
    "lifqa.schema": "an answer as JSON (ask --json, the API, MCP)",
    "lifqa.export": "an answer as Markdown, BibTeX, RIS or CSL-JSON",
    "lifqa.export.markdown": "an answer as Markdown",
    "lifqa.export.bibtex": "the cited sources as BibTeX",
    "lifqa.export.ris": "the cited sources as RIS",
    "lifqa.export.csljson": "the cited sources as CSL-JSON",
    "lifqa.batch": "answers a file of questions",
    "lifqa.ray_batch": "answers a file of questions on Ray actors",
    "lifqa.ray_cluster": "joins the Ray cluster a batch answers on",
    "lifqa.index": "the index package, which imports nothing",
    "lifqa.index.layout": "finds, verifies and checks the compatibility of a published build",
    "lifqa.index.store": "reads chunks, documents and per-row arrays",
    "lifqa.index.bm25": "reads the BM25 index",
    "lifqa.index.dense": "reads the FAISS index and vectors",
    "lifqa.service": "the service package, which imports nothing",
    "lifqa.service.api": "the HTTP query routes (uploads are added by service.upload_routes)",
    "lifqa.service.engines": "the engine a server answers with, swapped when a build is published",
    "lifqa.service.config": "the server's address and limits",
    "lifqa.service.guard": "token, host, origin and body-size checks of every request",
    "lifqa.service.requests": "the query request bodies",
    "lifqa.service.mcp_server": "the MCP tools, which only ask and search",
    "lifqa.commands.query": "lifqa ask, search, sources, conflicts and batch",
    "lifqa.commands.options": "the engine and filters the query options give",
    "lifqa.web.ask_options": "the app's question controls and their URL",
    "lifqa.web.widgets": "the app's CSS, badges, chips and highlighting",
    "lifqa.web.answer_view": "the app's answer, passage cards and downloads",
    "lifqa.web.conflicts_view": "the app's disagreeing facts",
    "lifqa.web.sources_view": "the app's sources table and one source",
    "lifqa.web.batch_view": "the app's uploaded question files",
    "lifqa.web.eval_view": "the app's evaluation report",
}

# What reads sources, builds an index, trains or evaluates; a prefix ending in "." names a whole package.
BUILD_SIDE = {
    "lifqa.index.build": "builds and publishes an index",
    "lifqa.index.ray_build": "builds on a Ray cluster",
    "lifqa.index.cache": "the SQLite life the build caches share (damaged file set aside, unused keys dropped)",
    "lifqa.index.doc_cache": "the build's per-document cache",
    "lifqa.reliability.structure": "analyses each document's structure, once per build",
    "lifqa.reliability.flags": "judges each source (its rules read raw files through lifqa.decoding)",
    "lifqa.reliability.passages": "judges each passage; the store keeps the flags for queries",
    "lifqa.reliability.facts": "the facts each source states and the conflicts between sources",
    "lifqa.index.embed_cache": "the build's vector cache",
    "lifqa.index.embed": "the build's chunk and sentence vectors",
    "lifqa.encoder_pool": "embedding processes of a build",
    "lifqa.sources": "--corpus in, Documents out: folders, BEIR files and reference libraries",
    "lifqa.sources.": "--corpus in, Documents out: folders, BEIR files and reference libraries",
    "lifqa.readers": "the file readers (and their parsers)",
    "lifqa.readers.": "the file readers (and their parsers)",
    "lifqa.library": "reference libraries (bibtexparser, rispy, pylatexenc, Zotero)",
    "lifqa.library.": "reference libraries (bibtexparser, rispy, pylatexenc, Zotero)",
    "lifqa.train": "trains the reranker",
    "lifqa.train_selector": "trains the sentence selector",
    "lifqa.train_relevance": "fine-tunes the relevance model",
    "lifqa.train_span": "fine-tunes the span reader",
    "lifqa.calibrate": "fits an index's abstention calibration (the stored record is lifqa.search.rerank.Calibration)",
    "lifqa.evaluate": "evaluation runs: every mode against a gold set",
    "lifqa.eval_metrics": "ranking (pytrec_eval) and answer metrics of an evaluation run",
    "lifqa.eval_report": "an evaluation run's report: table, summary, per-question rows, charts",
    "lifqa.eval_cache": "the indexes evaluation and training build once per corpus and settings",
    "lifqa.gold": "gold and BEIR question sets for evaluation and training",
    "lifqa.service.builds": "the service's incremental builds after uploads",
    "lifqa.service.upload_routes": "the service's upload routes",
    "lifqa.service.uploads": "saves uploaded papers into a corpus",
    "lifqa.service.multipart": "receives uploaded files",
    "lifqa.service.papers": "the app's add and remove papers, then a rebuild",
    "lifqa.commands.index": "lifqa index, status and verify",
    "lifqa.commands.evaluation": "lifqa eval",
    "lifqa.commands.training": "lifqa train-reranker, train-selector, train-cross-encoder, train-span-reader and calibrate",
}

# Neither side: entry points that run both (each imports the build side inside the command or action that
# builds), and pieces both sides use.
OTHER = {
    "lifqa": "lifqa.open, the documented entry point (imports the engine when called)",
    "lifqa.cli": "the parser of every command; each runs in lifqa.commands",
    "lifqa.commands": "the default index and corpus every command shares",
    "lifqa.commands.progress": "progress lines and bars on a terminal, for building and answering alike",
    "lifqa.commands.serve": "lifqa serve (queries plus uploads) and mcp",
    "lifqa.web": "the app's library side, one module per view; the package imports none of them",
    "lifqa.web.index_setup": "the app's index and corpus; a missing or stale index is built when it starts",
    "lifqa.web.page_view": "a cited PDF page, rendered by the PDF reader's page view",
    "lifqa.service.server": "lifqa serve: the query API plus the upload routes",
    "lifqa.chunking": "sentence splitting and chunks: the build, its document structure analysis, and gold sets",
    "lifqa.decoding": "a text file's bytes as str: the readers, and the reliability rules' raw quotes",
    "lifqa.parallel": "process pools for per-document work at build",
    "lifqa.jsonl": "JSON Lines with their line numbers: question files, gold sets, BEIR files, batch outputs, eval reports",
    "lifqa.provenance": "the record of uploads a library may name attachments from",
}

TOO_MANY_FOR_AN_ENGINE = 25  # lifqa modules `import lifqa.engine` may load
NEVER_FOR_AN_ENGINE = ("bibtexparser", "rispy", "pylatexenc")  # third-party parsers of reference libraries


def module_names(package: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(name: str, source: str, is_package: bool, known: set[str]) -> dict[str, str]:
    """The lifqa modules ``name`` imports, each with where: "module" (runs on import) or "function" (runs when called)."""
    found: dict[str, str] = {}

    def target(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]), where)
                continue
            inner = "function" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else where
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the module's package, one level up per extra dot
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in child.names]
            for dotted in names:
                module = target(dotted)
                if module and module != name and found.get(module) != "module":
                    found[module] = where
            visit(child, inner)

    visit(ast.parse(source), "module")
    return found


def import_graph() -> dict[str, dict[str, str]]:
    modules = module_names()
    known = set(modules)
    return {name: imports_of(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", known)
            for name, path in modules.items()}


def packages_of(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_build_side(name: str) -> bool:
    return any(name == entry or (entry.endswith(".") and name.startswith(entry)) for entry in BUILD_SIDE)


def path_to(graph: dict[str, dict[str, str]], start: str, goal) -> list[str] | None:
    """The shortest chain of imports from ``start`` to a module ``goal`` accepts (packages count as imported)."""
    previous: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        name = todo.popleft()
        if name != start and goal(name):
            chain = [name]
            while previous[chain[-1]] is not None:
                chain.append(previous[chain[-1]])  # type: ignore[arg-type]
            return chain[::-1]
        for nxt in [*graph[name], *packages_of(name)]:
            if nxt not in previous:
                previous[nxt] = name
                todo.append(nxt)
    return None


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), over the imports as written: a package
    importing its own submodule is how packages work, so the implicit package import is not an edge here."""
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                out.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_deferred_relative_and_type_only_imports():
    known = {"lifqa", "lifqa.index", "lifqa.index.build", "lifqa.index.layout", "lifqa.engine", "lifqa.calibrate"}
    source = ("from . import layout\nfrom .build import x\nfrom lifqa.engine import Engine\n"
              "if TYPE_CHECKING:\n    from lifqa.calibrate import Calibration\n"
              "def f():\n    import lifqa.calibrate\n")
    found = imports_of("lifqa.index.store", source, False, known)
    assert found == {"lifqa.index.layout": "module", "lifqa.index.build": "module", "lifqa.engine": "module",
                     "lifqa.calibrate": "function"}
    assert imports_of("lifqa.index", "from .layout import read_manifest\n", True, known) == {"lifqa.index.layout": "module"}
    assert cycles({"a": {"b": "module"}, "b": {"a": "function"}, "c": {}}) == [["a", "b"]]


def test_every_module_is_placed():
    """A new module says which side it is on, so the checks below cover it."""
    unplaced = sorted(name for name in module_names() if name not in QUERY_SIDE and name not in OTHER and not is_build_side(name))
    assert not unplaced, f"add these to QUERY_SIDE, BUILD_SIDE or OTHER in {Path(__file__).name}: {unplaced}"
    both = sorted(name for name in QUERY_SIDE if is_build_side(name) or name in OTHER)
    assert not both, f"placed twice: {both}"


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_query_side_never_reaches_the_build_side():
    graph = import_graph()
    missing = sorted(set(QUERY_SIDE) - set(graph))
    assert not missing, f"QUERY_SIDE names modules that do not exist: {missing}"
    reached = {name: path_to(graph, name, is_build_side) for name in sorted(QUERY_SIDE)}
    chains = [" -> ".join(chain) for chain in reached.values() if chain]
    assert not chains, "query-side modules import the build side (at module level or inside a function):\n" + "\n".join(chains)


def test_the_index_package_imports_nothing():
    """Opening an index imports lifqa.index; its __init__ importing the build would load every reader."""
    tree = ast.parse((PACKAGE / "index" / "__init__.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_importing_the_engine_loads_only_the_query_side():
    code = "import json, sys\nimport lifqa.engine\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    ours = [name for name in loaded if name == "lifqa" or name.startswith("lifqa.")]
    assert len(ours) <= TOO_MANY_FOR_AN_ENGINE, f"import lifqa.engine loads {len(ours)} lifqa modules: {ours}"
    assert not [name for name in ours if is_build_side(name)]
    assert not [name for name in loaded if name.split(".")[0] in NEVER_FOR_AN_ENGINE]
