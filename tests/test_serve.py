"""``lifqa serve`` as a client sees it: a real uvicorn server on a free loopback port, driven by httpx.

The answers are checked against the engine and the CLI on the same index, every endpoint
gets bad input, uploads are checked for what lands where (and what a library may name),
and /ask is hammered while an upload's build swaps the engine.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import CORPUS, PDF_QUESTION, PDF_SENTENCE
from live_server import copy_served, live_server

from lifqa.cli import main
from lifqa.errors import InputError
from lifqa.schema import AnswerOut, HitOut, SourceOut
from lifqa.service.config import ServeConfig

QUESTION = "Which receptor subunit does LIF share with IL-6?"
TOKEN = "test-token-0123456789abcdef"


def without_timings(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def wait_for_build(client: httpx.Client, status_url: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"the build did not finish in {timeout} s: {status}")


@pytest.fixture(scope="module")
def served(lif_index: Path, tmp_path_factory: pytest.TempPathFactory):
    """One server over a copy of the LIF index for the tests that change nothing (bad uploads are refused whole)."""
    index, corpus = copy_served(lif_index, CORPUS, tmp_path_factory.mktemp("served"))
    with live_server(index, corpus, max_upload_bytes=256 * 1024, max_files=3, max_batch=5) as live:
        yield live


@pytest.fixture
def fresh(lif_index: Path, tmp_path: Path):
    """A server of its own, over its own copy of the index and corpus, for a test that uploads."""
    index, corpus = copy_served(lif_index, CORPUS, tmp_path)
    with live_server(index, corpus) as live:
        yield live


@pytest.fixture
def client(served):
    with served.client() as c:
        yield c


# ---- the same answers as the engine and the CLI -------------------------------------------------
def test_ask_returns_the_ask_json_object_of_the_cli(client, lif_index, engine, capsys):
    response = client.post("/ask", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    AnswerOut.model_validate(body)  # the shared model, field for field (extra fields are forbidden)
    assert main(["ask", QUESTION, "--index", str(lif_index), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert list(body) == list(cli)
    assert without_timings(body) == without_timings(cli)
    assert without_timings(body) == without_timings(AnswerOut.of(engine.ask(QUESTION)).model_dump(mode="json"))
    assert not body["abstained"] and body["citations"] and body["sentences"]
    assert response.headers["x-lifqa-build"].startswith("build-")


def test_the_answer_model_carries_the_short_answer_as_to_dict_gives_it():
    """/ask, ask --json, batch records and the MCP ask tool all dump AnswerOut: the short answer, or null, in to_dict's shape."""
    from dataclasses import replace

    from lifqa.types import Answer, AnswerSentence, ShortAnswer

    sentence = "The NCBI Entrez Gene ID of human LIF is 3976."
    answer = Answer("What is the Entrez Gene ID of human LIF?", f"{sentence} [1]", False, (), "hybrid+rerank",
                    (AnswerSentence(sentence, (1,)),), short_answer=ShortAnswer("3976", 0, 40, 44, 0.93))
    for case in (answer, replace(answer, short_answer=None)):
        dumped = AnswerOut.of(case).model_dump(mode="json")
        assert dumped == json.loads(json.dumps(case.to_dict())) and list(dumped) == list(case.to_dict())
    schema = AnswerOut.model_json_schema()  # what the OpenAPI page and the MCP tool's output schema publish
    assert set(schema["$defs"]["ShortAnswerOut"]["properties"]) == {"text", "sentence", "char_start", "char_end", "score", "method"}


def test_ask_options_and_formats(client, engine):
    body = client.post("/ask", json={"question": QUESTION, "k": 3, "mode": "bm25", "min_tier": "medium"}).json()
    expected = engine.ask(QUESTION, k=3, mode="bm25", min_tier="medium")
    assert without_timings(body) == without_timings(AnswerOut.of(expected).model_dump(mode="json"))
    assert body["mode"] == "bm25" and len(body["citations"]) <= 3
    text = client.post("/ask", json={"question": QUESTION, "format": "text"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "Sources:" in text.text and expected.sentences[0].text.split()[0] in text.text
    markdown = client.post("/ask", json={"question": QUESTION, "format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown") and "[1]" in markdown.text
    bib = client.post("/ask", json={"question": QUESTION, "format": "bibtex"})
    assert bib.status_code == 200 and bib.text.lstrip().startswith("@")


def test_search_sources_conflicts_and_health(client, engine):
    hits = client.post("/search", json={"query": "gp130 receptor", "k": 4}).json()
    assert hits == [HitOut.of(h).model_dump(mode="json") for h in engine.search("gp130 receptor", k=4)]
    sources = client.get("/sources").json()
    assert sources == [SourceOut.of(r).model_dump(mode="json") for r in engine.sources()]
    doc_id = sources[0]["doc_id"]
    one = client.get(f"/sources/{doc_id}").json()
    assert one["doc_id"] == doc_id and one["text"] == engine.source(doc_id).document.text
    assert client.get("/conflicts").json() == engine.conflicts()
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["counts"]["documents"] == len(sources)
    assert health["build"] == engine.build.name and health["built_at"] == engine.manifest["built_at"]
    assert health["model"]["id"] == engine.manifest["model_id"] and health["uploads"]["accepted"] is True
    assert "files" not in health["manifest"]
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/ask", "/search", "/sources", "/conflicts", "/health",
                                                                  "/batch", "/documents", "/builds/{build_id}"}


def test_the_api_docs_page_needs_no_network(client):
    """/docs is served with its script and style from this server: an offline machine cannot reach a CDN."""
    page = client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets and all(a.startswith("/") for a in assets), assets  # nothing from another host
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 500, asset  # the real file, not an error page


def test_batch_streams_one_record_per_question_in_order(client, engine):
    questions = [QUESTION, {"id": "chromosome", "question": "On which chromosome is the human LIF gene located?"}, "   "]
    with client.stream("POST", "/batch", json={"questions": questions, "k": 3}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
        records = [json.loads(line) for line in response.iter_lines() if line]
    assert [r["id"] for r in records] == ["1", "chromosome", "3"]
    assert without_timings({k: v for k, v in records[0].items() if k != "id"}) == \
        without_timings(AnswerOut.of(engine.ask(QUESTION, k=3)).model_dump(mode="json"))
    assert "empty" in records[2]["error"]  # a bad question is an error line; the others are answered


# ---- bad input: a clear 4xx JSON error for every endpoint ---------------------------------------
@pytest.mark.parametrize(("method", "path", "payload", "status", "says"), [
    ("POST", "/ask", {"question": ""}, 400, "empty"),
    ("POST", "/ask", {"question": "!!!"}, 400, "no letters or digits"),
    ("POST", "/ask", {"question": QUESTION, "mode": "magic"}, 400, "Valid modes: bm25, dense, hybrid, hybrid+rerank"),
    ("POST", "/ask", {"question": QUESTION, "k": 0}, 400, "from 1 to 100"),
    ("POST", "/ask", {"question": QUESTION, "k": "many"}, 422, "k: Input should be a valid integer"),
    ("POST", "/ask", {"question": QUESTION, "format": "pdf"}, 422, "format"),
    ("POST", "/ask", {"question": QUESTION, "exclude": ["haunted"]}, 400, "haunted"),
    ("POST", "/ask", {"question": QUESTION, "min_tier": "platinum"}, 400, "platinum"),
    ("POST", "/ask", {"question": QUESTION, "tags": ["no-such-tag"]}, 400, "no-such-tag"),
    ("POST", "/ask", {"questoin": QUESTION}, 422, "question: Field required"),
    ("POST", "/ask", [QUESTION], 422, "body"),
    ("POST", "/search", {"query": "   "}, 400, "empty"),
    ("POST", "/search", {"query": "gp130", "mode": "bm26"}, 400, "Valid modes"),
    ("GET", "/sources/no-such-document", None, 404, "no source 'no-such-document'"),
    ("GET", "/builds/0123456789abcdef", None, 404, "no build"),
    ("POST", "/batch", {"questions": []}, 400, "no questions"),
    ("POST", "/batch", {"questions": ["a b"] * 6}, 400, "at most 5"),
    ("POST", "/batch", {"questions": [{"id": "x", "question": "a b"}, {"id": "x", "question": "c d"}]}, 400, "used twice"),
    ("POST", "/batch", {"questions": [QUESTION], "mode": "magic"}, 400, "Valid modes"),
    ("POST", "/batch", {"questions": [QUESTION], "batch_size": 0}, 422, "batch_size"),
    ("GET", "/no/such/route", None, 404, "Not Found"),
    ("DELETE", "/ask", None, 405, "Method Not Allowed"),
])
def test_bad_input_is_a_4xx_json_error(client, method, path, payload, status, says):
    response = client.request(method, path, json=payload) if payload is not None else client.request(method, path)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and says in body["error"]
    assert "Traceback" not in response.text


def test_a_body_that_is_not_json_is_a_422(client):
    response = client.post("/ask", content=b"question=what", headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422 and response.json()["error"]


def test_huge_bodies_are_refused_before_and_while_reading(client):
    huge = {"question": "LIF " * 300_000}  # 1.2 MB, over the 1 MB limit of a JSON body
    response = client.post("/ask", json=huge)
    assert response.status_code == 413 and "at most 1 MB" in response.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 10_000

    response = client.post("/documents", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413 and "256 KB" in response.json()["error"]


def test_requests_from_another_site_or_host_name_are_refused(client):
    other_site = client.post("/ask", json={"question": QUESTION}, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403 and "another site" in other_site.json()["error"]
    rebinding = client.get("/health", headers={"Host": "evil.example:8765"})
    assert rebinding.status_code == 421 and "127.0.0.1 or localhost" in rebinding.json()["error"]
    same_origin = client.get("/health", headers={"Origin": client.base_url.scheme + "://" + client.base_url.netloc.decode()})
    assert same_origin.status_code == 200


# ---- uploads that must be refused ----------------------------------------------------------------
def upload(client: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return client.post("/documents", files=[("files", (name, data)) for name, data in files])


@pytest.mark.parametrize(("files", "status", "says"), [
    ([("fake.pdf", b"Plain text pretending to be a PDF.\n")], 415, "not a PDF"),
    ([("paper.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")], 415, "holds a PDF"),
    ([("article.xml", b"<?xml version='1.0'?><svg><text>hi</text></svg>")], 415, "not a JATS article"),
    ([("refs.bib", b"just some words, no entries\n")], 415, "no BibTeX entry"),
    ([("refs.ris", b"AU  - Someone\nER  - \n")], 415, "no RIS reference"),
    ([("refs.json", b'{"not": "csl"}')], 415, "not CSL-JSON"),
    ([("refs.json", b"{broken")], 415, "not valid JSON"),
    ([("program.exe", b"MZ\x90\x00")], 415, "lifqa reads files ending in"),
    ([("empty.txt", b"")], 400, "is empty"),
    ([("binary.txt", bytes(range(256)) * 8)], 415, "not text"),
    ([("sources.toml", b"[x]\n")], 415, "lifqa reads files ending in"),
    ([("sources.json", b"[]")], 400, "curator metadata"),
    ([("....txt", b"text")], 400, "no usable name"),
    ([("000_b2d3b1681d340735.txt", b"Replacement text.\n")], 409, "already in the corpus"),
    ([("same.txt", b"One.\n"), ("same.txt", b"Two.\n")], 409, "both named same.txt"),
    ([(f"n{i}.txt", b"Words.\n") for i in range(4)], 400, "more than 3 files"),
])
def test_bad_uploads_are_refused_and_leave_the_corpus_as_it_was(served, client, files, status, says):
    before = sorted(p.relative_to(served.corpus) for p in served.corpus.rglob("*") if ".lifqa" not in p.parts)
    original = (served.corpus / "000_b2d3b1681d340735.txt").read_bytes()
    response = upload(client, *files)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]
    after = sorted(p.relative_to(served.corpus) for p in served.corpus.rglob("*") if ".lifqa" not in p.parts)
    assert after == before  # all or nothing: a good file beside a bad one is not kept either
    assert (served.corpus / "000_b2d3b1681d340735.txt").read_bytes() == original
    assert not any((served.corpus / ".lifqa" / "incoming").iterdir())  # staged files are cleaned up


def test_upload_form_mistakes(client):
    assert client.post("/documents", json={"file": "paper.pdf"}).status_code == 415
    no_files = client.post("/documents", data={"note": "hello"}, files=[])
    assert no_files.status_code in (400, 415)
    wrong_field = client.post("/documents", files=[("paper", ("a.txt", b"Some words.\n"))])
    assert wrong_field.status_code == 400 and "'files' field" in wrong_field.json()["error"]
    broken = client.post("/documents", content=b"--b\r\ngarbage", headers={"content-type": "multipart/form-data; boundary=b"})
    assert broken.status_code == 400


# ---- uploads that are taken -----------------------------------------------------------------------
def test_an_uploaded_pdf_is_answerable_with_its_page(fresh, pdf_corpus):
    with fresh.client() as client:
        before = client.get("/health").json()["build"]
        assert all(c["doc_id"] != "zebrafish" for c in client.post("/ask", json={"question": PDF_QUESTION}).json()["citations"])
        response = upload(client, ("zebrafish.pdf", (pdf_corpus / "zebrafish.pdf").read_bytes()))
        assert response.status_code == 202, response.text
        assert response.headers["location"] == response.json()["status_url"]
        assert response.json()["saved"][0] | {"sha256": ""} == {"name": "zebrafish.pdf", "kind": "pdf", "sha256": "",
                                                                "size": (pdf_corpus / "zebrafish.pdf").stat().st_size, "renamed_from": ""}
        status = wait_for_build(client, response.json()["status_url"])
        assert status["state"] == "done" and status["added"] == ["zebrafish"] and status["documents"] == 6, status
        answer = client.post("/ask", json={"question": PDF_QUESTION})
        assert answer.headers["x-lifqa-build"] == status["build"] != before
        body = answer.json()
        assert PDF_SENTENCE in body["answer"]
        cited = next(c for c in body["citations"] if c["key"] in body["sentences"][0]["citation_keys"])
        assert cited["doc_id"] == "zebrafish" and cited["page_start"] == 2
        assert (fresh.corpus / "zebrafish.pdf").read_bytes() == (pdf_corpus / "zebrafish.pdf").read_bytes()
        again = upload(client, ("zebrafish.pdf", b"%PDF-1.4 something else"))
        assert again.status_code == 409  # never replaced silently


def test_path_tricks_in_names_stay_inside_the_corpus(fresh, tmp_path):
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    names = ["../../escape.txt", "/etc/cron.d/evil.txt", "..\\..\\windows.txt", ".hidden.txt", "sub/dir/nested.txt",
             "semi;colon|pipe*.txt"]
    with fresh.client() as client:
        response = upload(client, *[(name, f"Upload number {i} about quokkas.\n".encode()) for i, name in enumerate(names[:3])])
        assert response.status_code == 202, response.text
        saved = [s["name"] for s in response.json()["saved"]]
        assert saved == ["escape.txt", "evil.txt", "windows.txt"]
        assert [s["renamed_from"] for s in response.json()["saved"]] == names[:3]
        response = upload(client, *[(name, f"Another upload {i} about wombats.\n".encode()) for i, name in enumerate(names[3:])])
        assert response.status_code == 202, response.text
        assert [s["name"] for s in response.json()["saved"]] == ["hidden.txt", "nested.txt", "semi_colon_pipe.txt"]
        wait_for_build(client, response.json()["status_url"])
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before  # nothing beside the corpus
    for name in ("escape.txt", "evil.txt", "windows.txt", "hidden.txt", "nested.txt", "semi_colon_pipe.txt"):
        assert (fresh.corpus / name).is_file()
    uploaded = json.loads((fresh.corpus / ".lifqa" / "uploads.json").read_text())["uploaded"]
    assert "escape.txt" in uploaded and "nested.txt" in uploaded


@pytest.mark.parametrize(("raw", "safe"), [
    ("con trol\x07name.txt", "con_trol_name.txt"), ("Ærø – résumé.PDF", "Ærø_résumé.pdf"), ("a\u202etxt.exe.md", "a_txt.exe.md"),
    ("x" * 300 + ".pdf", "x" * 116 + ".pdf"), ("C:\\Users\\me\\paper.pdf", "paper.pdf"), ("/", None), ("..", None),
    (".bib", None), ("notes", None), ("Sources.TOML", None), ("SOURCES.json", None)])
def test_safe_names(raw, safe):
    from lifqa.service.uploads import UploadError, safe_name

    if safe is None:
        with pytest.raises(UploadError):
            safe_name(raw)
    else:
        assert safe_name(raw) == safe


def test_an_uploaded_library_cannot_pull_in_files_outside_the_corpus(fresh, tmp_path):
    secret = tmp_path / "private_key.txt"
    secret.write_text("PRIVATE KEY quokkapassphrase wombatsecret\n", encoding="utf-8")
    (fresh.corpus / "inside.txt").write_text("Notes on okapi husbandry in zoos.\n", encoding="utf-8")
    bib = (f"@article{{abs, title={{Absolute path}}, file={{{secret}}}}}\n"
           "@article{up, title={Parent folder}, file={../private_key.txt}}\n"
           f"@article{{url, title={{File URL}}, file={{Key:file://{secret}:text/plain}}}}\n"
           "@article{hidden, title={Hidden state}, file={.lifqa/uploads.json}}\n"
           "@article{ok, title={Okapi notes}, file={inside.txt}}\n")
    ris = f"TY  - JOUR\nTI  - RIS escape\nL1  - {secret}\nER  - \n"
    csl = json.dumps([{"id": "cslkey", "type": "article-journal", "title": "CSL escape", "file": str(secret)}])
    with fresh.client() as client:
        response = upload(client, ("refs.bib", bib.encode()), ("refs2.ris", ris.encode()), ("refs3.json", csl.encode()))
        assert response.status_code == 202, response.text
        status = wait_for_build(client, response.json()["status_url"])
        assert status["state"] == "done", status
        refused = [w for w in status["warnings"] if "outside the corpus folder" in w]
        assert len(refused) == 6, status["warnings"]  # abs, up, url, hidden (bib), the RIS one and the CSL one
        assert any(str(secret) in w for w in refused) and any("../private_key.txt" in w for w in refused)
        for query in ("quokkapassphrase", "wombatsecret PRIVATE KEY"):
            hits = client.post("/search", json={"query": query, "k": 20}).json()
            assert not any("quokkapassphrase" in h["text"] for h in hits)
        sources = {s["doc_id"]: s for s in client.get("/sources").json()}
        assert sources["refs/abs"]["metadata"]["text_source"] == "metadata_only"  # the item stays, without the file
        okapi = client.get("/sources/refs/ok").json()
        assert okapi["metadata"]["text_source"] == "fulltext" and "okapi husbandry" in okapi["text"]


def test_a_users_own_library_still_names_files_anywhere(tmp_path):
    """The refusal is for uploads only: a .bib the user put in the corpus keeps its absolute attachment paths."""
    from lifqa.library.bibtex import read_bibtex

    outside = tmp_path / "elsewhere" / "paper.txt"
    outside.parent.mkdir()
    outside.write_text("A paper kept elsewhere.\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mine.bib").write_text(f"@article{{a, title={{Mine}}, file={{{outside}}}}}\n", encoding="utf-8")
    items, warnings = read_bibtex(corpus / "mine.bib")
    assert items[0].attachments[0].path == outside and not warnings
    from lifqa.provenance import record_uploads

    record_uploads(corpus, ["mine.bib"])  # once recorded as an upload, the same file may not
    items, warnings = read_bibtex(corpus / "mine.bib")
    assert items[0].attachments == () and "outside the corpus folder" in warnings[0]


# ---- serving while building ----------------------------------------------------------------------
def test_ask_is_answered_throughout_a_build_and_swap_from_one_whole_index(fresh, pdf_corpus):
    """Clients hammer /ask while an upload's build publishes a new index: every answer is 200 and is exactly the
    answer of the build its X-Lifqa-Build header names (no request sees half of an index)."""
    question = PDF_QUESTION  # the upload changes its answer, so a mixed index would show
    with fresh.client() as client:
        old_build = client.get("/health").json()["build"]
        reference = {old_build: without_timings(client.post("/ask", json={"question": question}).json())}
    seen: list[tuple[int, str, dict]] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            with fresh.client() as c:
                extra = 0
                while extra < 5:
                    r = c.post("/ask", json={"question": question})
                    seen.append((r.status_code, r.headers.get("x-lifqa-build", ""), r.json()))
                    extra += done.is_set()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    with fresh.client() as client:
        response = upload(client, ("zebrafish.pdf", (pdf_corpus / "zebrafish.pdf").read_bytes()))
        status = wait_for_build(client, response.json()["status_url"])
        done.set()
        for t in threads:
            t.join(300)
        assert not errors, errors
        assert status["state"] == "done"
        reference[status["build"]] = without_timings(client.post("/ask", json={"question": question}).json())
    assert reference[old_build] != reference[status["build"]]
    assert all(code == 200 for code, _, _ in seen)
    builds = [build for _, build, _ in seen]
    assert set(builds) == {old_build, status["build"]}  # both indexes answered
    assert builds.index(status["build"]) > 0 and old_build not in builds[len(builds) - 3:]
    for _, build, body in seen:
        assert without_timings(body) == reference[build]
    assert fresh.app.state.slot.swaps == 1


# ---- tokens and where the server may listen ------------------------------------------------------
def test_with_a_token_every_request_needs_it(lif_index, tmp_path):
    index, corpus = copy_served(lif_index, CORPUS, tmp_path)
    with live_server(index, corpus, token=TOKEN) as live:
        with live.client() as anonymous:
            for method, path in (("GET", "/health"), ("GET", "/docs"), ("GET", "/openapi.json"), ("POST", "/ask"), ("POST", "/documents")):
                r = anonymous.request(method, path)
                assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and "needs a token" in r.json()["error"]
        with live.client(headers={"Authorization": "Bearer wrong-token-0123456789"}) as wrong:
            assert wrong.get("/health").status_code == 401 and "wrong" in wrong.get("/health").json()["error"]
        with live.client(headers={"Authorization": f"Bearer {TOKEN}"}) as right:
            assert right.get("/health").status_code == 200
            assert right.post("/ask", json={"question": QUESTION}).json()["citations"]


def test_listening_beyond_loopback_needs_a_token(lif_index, capsys):
    for host in ("127.0.0.1", "::1", "localhost"):
        ServeConfig(lif_index, host=host)  # fine without a token
    with pytest.raises(InputError, match="refusing to listen on 0.0.0.0 without a token"):
        ServeConfig(lif_index, host="0.0.0.0")
    with pytest.raises(InputError, match="at least 16"):
        ServeConfig(lif_index, host="0.0.0.0", token="short")
    ServeConfig(lif_index, host="0.0.0.0", token=TOKEN)
    assert main(["serve", "--index", str(lif_index), "--host", "192.0.2.7"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: refusing to listen on 192.0.2.7 without a token") and "\n" not in err


def test_an_index_built_from_a_library_file_takes_no_uploads(lif_index, tmp_path):
    index, _ = copy_served(lif_index, CORPUS, tmp_path)
    library = tmp_path / "refs.bib"
    library.write_text("@article{a, title={A}}\n", encoding="utf-8")
    with live_server(index, library) as live, live.client() as client:
        assert client.get("/health").json()["uploads"]["accepted"] is False
        response = upload(client, ("a.txt", b"Words.\n"))
        assert response.status_code == 409 and "uploads need a folder" in response.json()["error"]


def test_the_service_modules_import_neither_the_build_nor_the_readers():
    """The build side (and the library readers under it) load only when an upload is built."""
    import subprocess
    import sys

    from conftest import ROOT

    code = ("import sys, lifqa.service.api, lifqa.service.mcp_server, lifqa.service.server, lifqa.service.multipart; "
            "print(sorted(m for m in sys.modules if m.startswith(('lifqa.index', 'lifqa.library', 'lifqa.readers', 'lifqa.engine'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_question_over_the_time_limit_is_a_503_and_the_server_keeps_answering(lif_index, tmp_path):
    index, corpus = copy_served(lif_index, CORPUS, tmp_path)
    with live_server(index, corpus, request_seconds=0.001) as live, live.client() as client:
        response = client.post("/ask", json={"question": QUESTION})
        assert response.status_code == 503 and "limit of 0.001 s" in response.json()["error"]
        assert client.get("/health").status_code == 200


def test_a_build_published_by_another_process_is_served(fresh):
    """`lifqa index` (or the app) rebuilding the served index: the server notices the new CURRENT and swaps to it."""
    from lifqa.index.build import build_index
    from lifqa.settings import make_settings

    question = "Which protein lets the axolotl regrow its limbs?"
    (fresh.corpus / "axolotl.txt").write_text("Axolotl notes\n\nThe axolotl regrows its limbs using the protein Regenerin.\n",
                                             encoding="utf-8")
    with fresh.client() as client:
        served = client.get("/health").json()["build"]
        result = build_index(fresh.corpus, fresh.index, make_settings())
        assert result.rebuilt and result.build_dir.name != served
        deadline = time.monotonic() + 60
        while client.get("/health").json()["build"] != result.build_dir.name:
            assert time.monotonic() < deadline, "the server still serves the old build"
            time.sleep(0.2)
        answer = client.post("/ask", json={"question": question}).json()
        assert "Regenerin" in answer["answer"] and answer["citations"][0]["doc_id"] == "axolotl"
