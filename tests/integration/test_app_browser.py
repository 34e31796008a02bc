"""`neta serve` in a real browser: Debian's headless Chromium driven by Selenium through chromedriver.

The server is started as the README tells a user (`neta serve --results results`) over the tiny
finished workflow's results, plus one scraped boke holding markup, to see that it stays text.
Screenshots of each page are kept under the repository's results/screenshots/ as test artifacts.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from neta.pizza.kinds import GENERATOR_KINDS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "results" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HOSTILE_BOKE = '<script>window.__pwned = 1</script><b id="injected">bold</b>'
WAIT_S = 120


def _browser_missing() -> str | None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    return ", ".join(missing) or None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = _browser_missing()
    if missing:
        message = (f"browser test needs {missing}: run `make system-packages` as root "
                   "(apt-get install chromium chromium-driver)")
        if os.environ.get("NETA_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # The background-networking flags keep Chromium from calling hosts this closed network refuses.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1280,1100",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _add_hostile_boke(results: Path) -> str:
    """Append a scraped boke holding markup to the first photo's captions; return that photo's id."""
    table = results / "bokete" / "captions.csv"
    with table.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    row = dict(rows[0], caption=HOSTILE_BOKE, tokens=" ".join(HOSTILE_BOKE.split()))
    with table.open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=fields).writerow(row)
    return row["image_id"]


@pytest.fixture(scope="module")
def server(finished_workflow, tmp_path_factory):
    """`neta serve` over a copy of the finished results (the copy gets the hostile boke)."""
    root = tmp_path_factory.mktemp("served")
    results = root / "results"
    shutil.copytree(finished_workflow.root / "results", results,
                    ignore=shutil.ignore_patterns("logs", "benchmarks", "cache", "snapshot"))
    hostile_photo = _add_hostile_boke(results)
    port = _free_port()
    log = (root / "serve.log").open("w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "neta", "serve", "--results", str(results), "--port", str(port)],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            with urllib.request.urlopen(url + "/data", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("neta serve did not answer:\n" + (root / "serve.log").read_text()) from None
            time.sleep(0.3)
    yield {"url": url, "hostile_photo": hostile_photo, "results": results}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _wait_state(driver, selector: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    element = WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.CSS_SELECTOR, selector)
        if d.find_element(By.CSS_SELECTOR, selector).get_attribute("data-state") in ("done", "error") else False)
    state = element.get_attribute("data-state")
    assert state == "done", f"{selector}: {element.text}"
    return state


def _screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_data_page_shows_all_three_datasets(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/")
    assert browser.current_url.endswith("/data")
    for section in ("data-bokete", "data-pizza", "data-hiragana"):
        assert browser.find_element(By.ID, section).text.strip(), section
    assert not browser.find_elements(By.CSS_SELECTOR, ".missing-stage")
    _screenshot(browser, "data")


def test_boke_generate_shows_five_bokes_and_escapes_scraped_text(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server["url"] + "/boke")
    Select(browser.find_element(By.ID, "photo")).select_by_value(server["hostile_photo"])
    browser.find_element(By.ID, "generate").click()
    _wait_state(browser, "#bokes")
    bokes = browser.find_elements(By.CSS_SELECTOR, "#bokes li.boke")
    assert len(bokes) == 5
    for boke in bokes:
        assert boke.find_element(By.CSS_SELECTOR, ".text").text.strip()
        float(boke.find_element(By.CSS_SELECTOR, ".score").text.strip())
    real = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#real-bokes li")]
    assert any(HOSTILE_BOKE in text for text in real), real
    assert browser.execute_script("return window.__pwned") is None
    assert not browser.find_elements(By.ID, "injected")
    _screenshot(browser, "boke")
    browser.find_element(By.ID, "generate-again").click()  # bokes drawn at random, seeded
    _wait_state(browser, "#bokes")
    drawn = [item.find_element(By.CSS_SELECTOR, ".text").text for item in
             browser.find_elements(By.CSS_SELECTOR, "#bokes li.boke")]
    assert 1 <= len(drawn) <= 5 and all(drawn)


def test_own_boke_with_script_is_shown_as_text(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/boke")
    browser.find_element(By.ID, "own-boke").send_keys(HOSTILE_BOKE)
    browser.find_element(By.ID, "score-own").click()
    _wait_state(browser, "#own-result")
    assert HOSTILE_BOKE in browser.find_element(By.ID, "own-result").text
    assert browser.execute_script("return window.__pwned") is None
    assert not browser.find_elements(By.ID, "injected")


def test_hiragana_stroke_gives_five_predictions(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/hiragana")
    pad = browser.find_element(By.ID, "pad")
    # An く-like stroke: down-left from the top, then down-right.
    ActionChains(browser).move_to_element_with_offset(pad, 30, -80).click_and_hold() \
        .move_by_offset(-30, 40).move_by_offset(-30, 40).move_by_offset(30, 40).move_by_offset(30, 40) \
        .release().perform()
    browser.find_element(By.ID, "predict").click()
    _wait_state(browser, "#predictions")
    predictions = browser.find_elements(By.CSS_SELECTOR, "#predictions li.prediction")
    assert len(predictions) == 5
    probabilities = [float(item.find_element(By.CSS_SELECTOR, ".p").text.strip().rstrip("%")) for item in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(item.find_element(By.CSS_SELECTOR, ".char").text.strip() for item in predictions)
    _screenshot(browser, "hiragana")


def test_pizza_two_ingredients_give_an_image_from_each_generator(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server["url"] + "/pizza")
    boxes = browser.find_elements(By.CSS_SELECTOR, "input[type=checkbox][name=ingredient]")
    assert len(boxes) >= 2
    for box in boxes[:2]:
        box.click()
    browser.find_element(By.ID, "generate-pizza").click()
    _wait_state(browser, "#pizzas")
    figures = browser.find_elements(By.CSS_SELECTOR, "#pizzas figure")
    generators = sorted(path.stem for path in (server["results"] / "pizza").glob("*.pt") if path.stem != "classifier")
    assert len(figures) == len(generators) == len(GENERATOR_KINDS) == 5
    for figure in figures:
        image = figure.find_element(By.CSS_SELECTOR, "img.pizza")
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
        assert figure.find_element(By.TAG_NAME, "figcaption").text.strip()
    _screenshot(browser, "pizza")


def test_rate_three_pairs_blind_and_see_them_counted(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server["url"] + "/rate")
    for number, choice in enumerate(("left", "right", "left"), start=1):
        _wait_state(browser, "#pair")
        left, right = (browser.find_element(By.ID, f"{side}-text").text for side in ("left", "right"))
        assert left.strip() and right.strip() and left != right
        for source in ("model_top1", "model_sample", "most_frequent", "baseline"):  # nothing says who wrote which
            assert source not in browser.page_source
        if number == 1:
            photo = browser.find_element(By.ID, "rate-photo")
            WebDriverWait(browser, WAIT_S).until(
                lambda d, img=photo: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img))
            _screenshot(browser, "rate")
        browser.find_element(By.ID, f"choose-{choice}").click()
        WebDriverWait(browser, WAIT_S).until(lambda d, n=number: d.find_element(By.ID, "rated-count").text == str(n))
    _wait_state(browser, "#pair")
    browser.find_element(By.ID, "nav-results").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: d.current_url.endswith("/rate/results"))
    assert browser.find_element(By.ID, "count-judgements").text == "3"
    assert browser.find_element(By.ID, "count-mine").text == "3"
    assert browser.find_element(By.ID, "count-raters").text == "1"
    assert browser.find_elements(By.CSS_SELECTOR, "#win-rates tbody tr")
    _screenshot(browser, "rate_results")
