"""Draw docs/page.png: the page of `organo-predict serve` after the first example (an
EGFR-mutant lung adenocarcinoma), brain selected, in headless Chromium; and docs/api-docs.png,
its /docs (Swagger UI) with every request off the machine refused.

Run (after `organo-predict experiment` has registered a champion; Debian's chromium):
    python docs/screenshot.py [--model URI] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import expect, sync_playwright

import organo_predict as op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=op.DEFAULT_MODEL_URI)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "page.png")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(op.create_app(op.load_model(args.model)),
                                           host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    example = httpx.get(f"{base}/examples").json()[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1080})
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        page.get_by_role("button", name=example["name"]).click()
        expect(page.locator("tr.organ").first).to_be_visible(timeout=15_000)
        page.locator("tr.organ[data-organ='CNS_BRAIN']").click()
        expect(page.locator("#drivers")).to_contain_text("EGFR_LUAD_BRAIN")
        page.screenshot(path=str(args.out), full_page=False)
        docs = browser.new_page(viewport={"width": 1280, "height": 900})
        docs.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            base) else route.abort())  # offline: only this server answers
        docs.goto(base + "/docs")
        expect(docs.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
        docs.screenshot(path=str(args.out.with_name("api-docs.png")), full_page=False)
        browser.close()
    server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
