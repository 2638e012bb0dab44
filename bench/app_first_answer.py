"""The app's first answer after start, in a real browser: `streamlit run app.py` until a question's answer is shown.

    PYTHONPATH=. .venv/bin/python bench/app_first_answer.py --starts 3 [--base-tree ../lifqa-before]

The bundled corpus is built once per checkout, by that checkout's `lifqa index` with the default settings (the app
rebuilds an index that other code built, as it would after an upgrade, so checkouts sharing one index would time a
rebuild). Each start launches the app as `make app` does (a fresh
`streamlit run` on a free loopback port), waits for its health check, opens a link asking one question (a shared
link, `?q=...`) in headless Chromium, which is started once beforehand as a researcher's browser is already open, and
waits for the answer and the end of the script run. Reported per start: seconds to the server's health check, and to
the answer on screen, both from launch; the page's own share (from opening the link) besides. ``--base-tree`` runs
another checkout's app on its own build of the same corpus, interleaved. Needs Chromium at /usr/bin/chromium and Playwright.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import FIRST_QUESTION, first_answer_options, run, save_result  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') === 'notRunning'"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_start(browser, tree: Path, index: Path, logs: Path, question: str = FIRST_QUESTION) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "LIFQA_INDEX": str(index), "LIFQA_CORPUS": str(ROOT / "corpus"),
           "LIFQA_REPORT": str(logs / "no-report"), "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    with (logs / "server.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(tree / "app.py"), "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"error: streamlit exited: {(logs / 'server.log').read_text()[-1000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.read().strip() == b"ok":
                            break
                except OSError:
                    time.sleep(0.05)
            healthy = time.perf_counter()
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(f"{url}/?q={quote_plus(question)}")
            page.locator(".lq-answer").wait_for(timeout=120_000)
            page.wait_for_function(IDLE, timeout=120_000)
            answered = time.perf_counter()
            assert page.locator(".lq-answer a.lq-cite").count() >= 1, "the answer cites nothing"
            page.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return {"health_s": round(healthy - started, 3), "answer_s": round(answered - started, 3),
            "page_s": round(answered - healthy, 3)}


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    first_answer_options(parser, starts=3, runs="app", asks="the shared link's question", out="app_first_answer.json")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("error: needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    trees = {"today": ROOT, **({"base": args.base_tree.resolve()} if args.base_tree else {})}
    with tempfile.TemporaryDirectory(prefix="lifqa-app-first-") as scratch, sync_playwright() as playwright:
        indexes = {name: Path(scratch) / f"index-{name}" for name in trees}
        for name, tree in trees.items():
            subprocess.run([sys.executable, "-m", "lifqa.cli", "index", "--corpus", str(ROOT / "corpus"), "--index",
                            str(indexes[name])], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
                           capture_output=True)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        load = os.getloadavg()[0]
        for name, tree in trees.items():  # one unmeasured start each: files into the page cache
            one_start(browser, tree, indexes[name], Path(scratch), args.question)
        starts: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(args.starts):
            for name, tree in trees.items():
                starts[name].append(one_start(browser, tree, indexes[name], Path(scratch), args.question))
        browser.close()
    result = {"question": args.question, "starts": args.starts, "load_before": round(load, 2),
              "median": {name: {key: round(statistics.median(s[key] for s in runs), 3) for key in runs[0]}
                         for name, runs in starts.items()},
              "runs": starts}
    save_result(args.out, result)
    return 0


if __name__ == "__main__":
    run(main)
