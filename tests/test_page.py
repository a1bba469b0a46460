"""The web page, end to end in headless Chromium (Debian's /usr/bin/chromium via Playwright).

CI installs chromium when missing and sets ORGANO_PREDICT_STRICT_TESTS=1, so there a missing
browser fails; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from organo_predict import LoadedModel, create_app

CHROMIUM = os.environ.get("ORGANO_PREDICT_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.slow  # a headless browser: CI runs it, `-m "not slow"` skips it


def _browser_or_skip() -> str:
    from .conftest import require_program

    return require_program(CHROMIUM, "apt-get install chromium")


@pytest.fixture(scope="module")
def server(with_intervals) -> Iterator[str]:
    """The app on a loopback port, served by uvicorn in a thread (a model with intervals)."""
    import uvicorn

    builder, model, _ = with_intervals
    skill = {"CNS_BRAIN": {"auroc_within_type": 0.613, "prior_auroc_within_type": 0.483},
             "BONE": {"auroc_within_type": 0.521, "prior_auroc_within_type": 0.483}}
    loaded = LoadedModel(builder, model, {"cohort": "msk_met_2021",
                                          "citation": "Nguyen et al. Cell 2022",
                                          "skill": skill},
                         "test-bundle", {"source": "bundle"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(loaded), host="127.0.0.1", port=port, log_level="error")
    uvi = uvicorn.Server(config)
    thread = threading.Thread(target=uvi.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield base
    uvi.should_exit = True
    thread.join(timeout=10)


def test_page_predicts_an_example_and_shows_drivers_with_citations(server: str,
                                                                   tmp_path: Path) -> None:
    executable = _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    example = httpx.get(f"{server}/examples").json()[0]
    api = httpx.post(f"{server}/predict?top_drivers=3", json=example["profile"]).json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        expect(page.locator("#model-line")).to_contain_text("msk_met_2021")
        page.get_by_role("button", name=example["name"]).click()
        rows = page.locator("tr.organ")
        expect(rows).to_have_count(len(api["organs"]), timeout=15_000)
        # the table shows the API's numbers, most likely organ first
        first = api["organs"][0]
        expect(rows.first).to_have_attribute("data-organ", first["organ"])
        shown = rows.first.locator("td.num").first.inner_text()
        assert abs(float(shown.split("%")[0]) / 100 - first["probability"]) < 0.01
        # under each probability its calibrated range, drawn as a whisker on the bar
        low, high = first["interval"]["low"], first["interval"]["high"]
        expect(rows.first.locator(".interval")).to_have_text(
            f"calibrated {100 * low:.1f}–{100 * high:.1f}%")
        whisker = rows.first.locator(".bar .ci")
        expect(whisker).to_have_count(1)
        bar_box = rows.first.locator(".bar").bounding_box()
        assert abs(whisker.bounding_box()["x"] - bar_box["x"] - low * bar_box["width"]) < 3
        assert "Venn-ABERS" in whisker.get_attribute("title")
        # the drivers of brain metastasis name EGFR and its documented mechanism
        page.locator("tr.organ[data-organ='CNS_BRAIN']").click()
        drivers = page.locator("#drivers")
        expect(drivers).to_contain_text("EGFR")
        expect(drivers).to_contain_text("EGFR_LUAD_BRAIN")
        expect(drivers).to_contain_text("Shin DY")  # the citation is on the page ...
        link = drivers.locator("a", has_text="Shin DY").first  # ... and a PubMed search
        assert link.get_attribute("href").startswith("https://pubmed.ncbi.nlm.nih.gov/?term=Shin")
        # each organ's skill within cancer type beside its probability; weak ones greyed
        brain = page.locator("tr.organ[data-organ='CNS_BRAIN'] td.skill")
        expect(brain).to_have_text("0.61")
        expect(page.locator("tr.organ[data-organ='BONE'] td.skill")).to_have_class(
            "num skill weak")
        expect(page.locator("tr.organ[data-organ='LIVER'] td.skill")).to_have_text("n/a")
        # the bars share one 0-100% axis: a 50% bar fills half of its track
        track = page.locator("tr.organ").first.locator(".bar")
        fill = track.locator(".p")
        ratio = fill.bounding_box()["width"] / track.bounding_box()["width"]
        assert abs(ratio - first["probability"]) < 0.02
        expect(page.locator("th .axis")).to_contain_text("100%")
        # the result downloads as JSON (the profile with it) and as tidy CSV
        with page.expect_download() as got:
            page.click("#download-json")
        saved = json.loads(Path(got.value.path()).read_text())
        assert saved["organs"][0]["organ"] == first["organ"] and "profile" in saved
        with page.expect_download() as got:
            page.click("#download-csv")
        header, *body = Path(got.value.path()).read_text().splitlines()
        assert header.startswith("organ,probability,interval_low,interval_high,baseline_rate,"
                                 "skill_within_type")
        assert any(row.startswith(f"{first['organ']},{first['probability']},{low},{high},")
                   for row in body)
        assert any(row.startswith("CNS_BRAIN,") and ",EGFR," in row for row in body)
        # aneuploidy is a field of the form, sent with the profile
        page.fill("#aneuploidy", "12")
        with page.expect_request("**/predict*") as sent:
            page.click("#predict")
        assert json.loads(sent.value.post_data)["aneuploidy"] == 12
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        # an out-of-range age is stopped by the form itself ...
        page.fill("#age", "300")
        page.click("#predict")
        expect(page.locator("#age:invalid")).to_have_count(1)
        # ... and what only the server can judge comes back naming the field
        page.fill("#age", "58")
        page.fill("#mutations", "BAD$GENE L858R")
        page.click("#predict")
        expect(page.locator("#error")).to_contain_text("mutations.0.gene")
        browser.close()
    assert errors == []


def test_api_docs_render_with_the_network_off(server: str, tmp_path: Path) -> None:
    """/docs draws Swagger UI from the package's own assets: every request off this machine
    is refused, and the operations still appear (FastAPI's default page, from a CDN, was
    blank offline)."""
    executable = _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    refused: list[str] = []

    def loopback_only(route) -> None:  # noqa: ANN001
        if route.request.url.startswith(server):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", loopback_only)
        page.goto(server + "/docs")
        expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/predict" in paths and "/health" in paths
        page.screenshot(path=str(tmp_path / "docs.png"))
        browser.close()
    assert refused == []  # nothing was even asked of the network
