"""End to end in a real browser: `jrsv serve` on localhost, its page in headless Chromium
(Debian's `chromium`, driven by Playwright), the shipped sample streamed from a file input;
captions of both tracks must appear, partial before final, in time order.

Set JRSV_SCREENSHOT=path.png to also save a screenshot taken while captions are live (finals and
a partial on screen) there: docs/serve-captions.png was made so.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from jrsv.pretrained import SAMPLE_DIR

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

RECORD = """() => {
  window.__captions = [];
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('.caption')) {
      const rec = {track: el.closest('.lane').dataset.track, id: el.dataset.id,
                   type: el.classList.contains('final') ? 'final' : 'partial',
                   start: parseFloat(el.dataset.start), text: el.textContent};
      const last = window.__captions.filter(r => r.id === rec.id).pop();
      if (!last || last.type !== rec.type || last.text !== rec.text) window.__captions.push(rec);
    }
  }).observe(document.getElementById('lanes'), {subtree: true, childList: true,
                                                 characterData: true, attributes: true});
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    pytest.importorskip("uvicorn")
    port = _free_port()
    # gate 0: the small default model's speech captions are mostly below its calibrated gate;
    # this test is about the page and the server, so it shows everything the model recognises
    proc = subprocess.Popen([sys.executable, "-m", "jrsv.bin.main", "serve", "--port", str(port),
                             "--min-confidence", "0", "--threads", "2", "--log-level", "warning"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/api/info", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"jrsv serve exited: {proc.stdout.read()}")
                time.sleep(0.2)
        else:
            pytest.fail("jrsv serve did not start in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                              "(tools/install_system_deps.sh)")
def test_page_streams_a_file_and_shows_both_tracks_in_order(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 420})
            page.goto(server + "/?lines=3")
            page.evaluate(RECORD)
            page.uncheck("#play")
            page.set_input_files("#file", str(SAMPLE_DIR / "sample.flac"))
            page.click("#stream-file")
            if os.environ.get("JRSV_SCREENSHOT"):  # live: finals and a partial on screen
                page.wait_for_function(
                    "document.querySelectorAll('.caption.final').length >= 3 && "
                    "document.querySelector('.caption.partial') !== null", timeout=240_000)
                page.screenshot(path=os.environ["JRSV_SCREENSHOT"])
            page.wait_for_function("document.getElementById('status').textContent === 'done'",
                                   timeout=240_000)
            page.screenshot(path=str(tmp_path / "captions.png"))
            log = page.evaluate("window.__captions")
            status = page.text_content("#status")
        finally:
            browser.close()
    assert status == "done"
    for track in ("speech", "singing"):
        finals = [r for r in log if r["track"] == track and r["type"] == "final"]
        assert finals, (track, log)
        starts = [r["start"] for r in finals]
        assert starts == sorted(starts), (track, finals)  # in order
        assert len({r["id"] for r in finals}) == len(finals)  # each finalised once
        partial_first = [r for r in log if r["track"] == track and r["type"] == "partial"]
        assert partial_first, (track, "no partial caption was shown")
