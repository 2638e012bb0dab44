"""End to end in a real browser: `streamlit run app.py` on a free port, driven by headless Chromium.

Needs the Debian packages chromium and chromium-driver (.ci/run installs them);
Playwright is pointed at /usr/bin/chromium because browser downloads are
impossible here. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote_plus

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
QUESTION = "Which receptor subunit does LIF share with IL-6?"
# Without the background-networking flags Chromium's own update/sync connections are refused here and it stalls.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the real-browser test needs Chromium: install it with `apt-get install chromium chromium-driver` (as root)",
)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(lif_index: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app as a user starts it, on a free localhost port; killed (with its process group) afterwards."""
    yield from _streamlit(lif_index, ROOT / "corpus", tmp_path_factory.mktemp("streamlit"))


@pytest.fixture(scope="module")
def pdf_server(pdf_index: Path, pdf_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app over an index of a generated journal PDF."""
    yield from _streamlit(pdf_index, pdf_corpus, tmp_path_factory.mktemp("streamlit-pdf"))


def _streamlit(index: Path, corpus: Path, logs: Path):
    port = _free_port()
    env = {**os.environ, "LIFQA_INDEX": str(index), "LIFQA_CORPUS": str(corpus), "LIFQA_REPORT": str(logs / "no-report")}
    log = (logs / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}: {(logs / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not serve {url} within 90 s: {(logs / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def upload_server(lif_index: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app over a private copy of the LIF index and corpus, which its "Add papers" changes."""
    from live_server import copy_served

    folder = tmp_path_factory.mktemp("streamlit-upload")
    index, corpus = copy_served(lif_index, ROOT / "corpus", folder)
    yield from _streamlit(index, corpus, folder)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser itself comes from apt)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _InlineScripts(HTMLParser):
    """The inline <script> bodies of the page Streamlit serves (its own bootstrap code)."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self._in_script = False
        self._has_src = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script, self._has_src = True, any(name == "src" for name, _ in attrs)
            if not self._has_src:
                self.inline.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and not self._has_src:
            self.inline[-1] += data


def uploader_input(page, label: str):
    """The file input of the uploader with this label (the page has more than one)."""
    return page.locator('[data-testid="stFileUploader"]').filter(has_text=label).locator('[data-testid="stFileUploaderDropzoneInput"]')


def wait_until_idle(page, timeout: float = 120_000) -> None:
    """Wait until the app's script run has finished, so every element of the answer is on the page."""
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') === 'notRunning'",
                           timeout=timeout)


def assert_no_corpus_markup(page, base_url: str) -> None:
    """No iframe anywhere; every script is Streamlit's own (a /static/ bundle or an inline script of the served page)."""
    assert page.locator("iframe").count() == 0
    with urllib.request.urlopen(base_url + "/", timeout=10) as response:
        parser = _InlineScripts()
        parser.feed(response.read().decode("utf-8"))
    own_inline = {body.strip() for body in parser.inline}
    scripts = page.evaluate("() => [...document.querySelectorAll('script')].map(s => ({src: s.src, text: s.textContent}))")
    for script in scripts:
        if script["src"]:
            assert script["src"].startswith(base_url + "/static/"), script
        else:
            assert script["text"].strip() in own_inline, script["text"][:200]
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("script, iframe, object, embed").count() == 0


def test_ask_in_a_real_browser(server: str, browser, tmp_path: Path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server)
    box = page.get_by_label("Question", exact=True)
    box.wait_for(timeout=120_000)  # first run: loads the index and the embedding model
    box.fill(QUESTION)
    box.press("Enter")
    page.locator(".lq-answer").wait_for(timeout=120_000)
    wait_until_idle(page)
    markers = page.locator(".lq-answer a.lq-cite")
    assert markers.count() >= 1
    assert page.locator(".lq-card .lq-tier").count() == page.locator(".lq-card").count() >= 1
    if page.locator(".lq-card[data-doc-id] .lq-chip").count() == 0:
        assert page.locator('.lq-card .lq-tier[data-tier="unknown"]').count() == page.locator(".lq-card").count()
    assert page.locator(".lq-card mark").count() >= 1  # the answer sentence, highlighted in its passage
    page.wait_for_function("() => location.search.includes('q=')", timeout=10_000)
    assert quote_plus(QUESTION)[:20] in page.url or QUESTION.split()[0] in page.url
    assert_no_corpus_markup(page, server)
    # viewer mode (.streamlit/config.toml): a researcher's tool offers no developer toolbar and no "Deploy" button
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert page.get_by_text("Deploy", exact=True).count() == 0
    page.screenshot(path=str(ARTIFACTS / "app-answer.png"), full_page=True)

    # a citation marker leads to its passage card
    href = markers.first.get_attribute("href")
    assert href and page.locator(href).count() == 1

    # Sources view: every document, its flags and its full text shown as text
    page.get_by_role("tab", name="Sources").click()
    page.locator(".lq-table").wait_for()
    assert page.locator(".lq-table tbody tr").count() == len(list((ROOT / "corpus").glob("*.txt")))
    assert page.locator(".lq-doctext").inner_text().strip()
    assert_no_corpus_markup(page, server)
    page.screenshot(path=str(ARTIFACTS / "app-sources.png"), full_page=True)

    # Batch view: upload a CSV, run it, download the answers
    page.get_by_role("tab", name="Batch").click()
    questions = tmp_path / "questions.csv"
    questions.write_text(f"id,question\nq1,{QUESTION}\nq2,Who won the 2014 FIFA World Cup final?\n", encoding="utf-8")
    uploader_input(page, "Questions file").set_input_files(str(questions))
    page.get_by_role("button", name="Answer all questions").click()
    page.get_by_role("button", name="Download JSONL").wait_for(timeout=120_000)
    wait_until_idle(page)
    page.screenshot(path=str(ARTIFACTS / "app-batch.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSONL").click()
    records = [json.loads(line) for line in Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["q1", "q2"]
    assert records[0]["citations"] and records[1]["abstained"] is True
    page.close()


def test_shared_link_answers_on_load(server: str, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{server}/?q={quote_plus('Who won the 2014 FIFA World Cup final?')}&k=3")
    page.locator(".lq-answer").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert "No supported answer in the corpus." in page.locator(".lq-answer").inner_text()
    assert page.locator(".lq-card").count() == 3
    page.close()


def test_pdf_citation_shows_its_page_with_the_sentence_highlighted(pdf_server: str, browser):
    from conftest import PDF_QUESTION

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(f"{pdf_server}/?q={quote_plus(PDF_QUESTION)}")
    page.locator(".lq-answer").wait_for(timeout=120_000)
    wait_until_idle(page)
    card = page.locator('.lq-card[data-doc-id="zebrafish"]').first
    assert card.locator(".lq-pages").inner_text() == "p. 2"
    page.get_by_text("Show on page 2").first.click()
    image = page.locator('[data-testid="stImage"] img').first
    image.wait_for(timeout=60_000)
    wait_until_idle(page)
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=\"stImage\"] img'); return i && i.complete && i.naturalWidth > 500; }",
                           timeout=30_000)
    assert "the cited sentence is highlighted" in page.locator('[data-testid="stImage"]').first.inner_text() or \
        "the cited sentence is highlighted" in page.content()
    page.screenshot(path=str(ARTIFACTS / "app-pdf-page.png"), full_page=True)
    page.close()


def test_a_pdf_added_in_the_browser_is_cited_with_its_page(upload_server: str, browser, pdf_corpus: Path):
    from conftest import PDF_QUESTION

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(upload_server)
    page.get_by_role("tab", name="Sources").wait_for(timeout=120_000)
    page.get_by_role("tab", name="Sources").click()
    page.get_by_text("Add papers", exact=True).click()
    uploader_input(page, "Papers to add").set_input_files(str(pdf_corpus / "zebrafish.pdf"))
    page.get_by_role("button", name="Add to the corpus").click()
    page.get_by_text("zebrafish.pdf: the index now has 6 sources; added zebrafish.").wait_for(timeout=180_000)
    wait_until_idle(page)
    page.screenshot(path=str(ARTIFACTS / "app-add-papers.png"), full_page=True)
    page.goto(f"{upload_server}/?q={quote_plus(PDF_QUESTION)}")
    page.locator(".lq-answer").wait_for(timeout=120_000)
    wait_until_idle(page)
    card = page.locator('.lq-card[data-doc-id="zebrafish"]').first
    assert card.locator(".lq-pages").inner_text() == "p. 2"
    page.close()
