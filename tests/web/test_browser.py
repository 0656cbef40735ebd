"""The planner's path through the page, in Debian's chromium driven by its chromium-driver.

Open the library, make a scenario from the baseline by changing a unit's beds, see the
loader's message next to the field for a bad value and correct it, run 2 replications
with progress, compare with the baseline and open the board report. Screenshots of each
step are saved under the test's temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.server import Server

selenium = pytest.importorskip("selenium")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (make .venv/.installed installs them)",
    ),
]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="pathways-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,1800",
    ):
        options.add_argument(flag)
    # The executable path given: Selenium Manager never looks for (or downloads) a driver.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "workspace").start()
    try:
        yield running
    finally:
        running.stop()


def _wait(driver: webdriver.Chrome, seconds: float = 180) -> WebDriverWait[webdriver.Chrome]:
    # The progress bar is swapped every second: an element read as it is replaced is
    # simply read again.
    return WebDriverWait(
        driver, seconds, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    )


def _finished(driver: webdriver.Chrome) -> bool:
    states = driver.find_elements(By.ID, "job-state")
    return bool(states) and states[0].text in ("finished", "failed", "cancelled")


def test_make_run_compare_and_report(
    server: Server, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    wait = _wait(browser)

    browser.get(server.url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Scenarios"
    browser.save_screenshot(str(shots / "1-library.png"))

    # A new scenario from the baseline.
    row = browser.find_element(By.XPATH, "//tr[td/a[text()='baseline']]")
    row.find_element(By.NAME, "name").send_keys("more_beds")
    row.find_element(By.TAG_NAME, "button").click()
    wait.until(EC.presence_of_element_located((By.ID, "f-units-0-beds")))
    assert browser.find_element(By.TAG_NAME, "h1").text == "more_beds"
    label = browser.find_element(By.CSS_SELECTOR, "label[for='f-units-0-beds']").text
    assert label == "Ashwood Medium Secure"

    # A bad value: the loader's message appears next to the field, and Save is off.
    beds = browser.find_element(By.ID, "f-units-0-beds")
    beds.clear()
    beds.send_keys("-5")
    problem = wait.until(EC.visibility_of_element_located((By.ID, "f-units-0-beds-problem")))
    assert "expected a whole number from 0 to 100,000, got -5" in problem.text
    assert not browser.find_element(By.ID, "save").is_enabled()
    browser.save_screenshot(str(shots / "2-validation.png"))

    # Corrected: the message goes and the YAML beside shows what will be saved.
    beds = browser.find_element(By.ID, "f-units-0-beds")
    beds.clear()
    beds.send_keys("70")
    wait.until(EC.invisibility_of_element_located((By.ID, "f-units-0-beds-problem")))
    wait.until(EC.text_to_be_present_in_element_value((By.ID, "yaml-text"), "beds: 70"))
    browser.find_element(By.ID, "save").click()
    saved = wait.until(EC.visibility_of_element_located((By.CLASS_NAME, "saved")))
    assert "Saved" in saved.text
    stored = (server.workspace / "scenarios" / "more_beds.yaml").read_text()
    assert "extends: ../examples/baseline.yaml" in stored and "beds: 70" in stored
    browser.save_screenshot(str(shots / "3-saved.png"))

    # Run 2 replications: the progress bar, then the results.
    replications = browser.find_element(By.ID, "replications")
    replications.clear()
    replications.send_keys("2")
    browser.find_element(By.ID, "run").click()
    progress = wait.until(EC.presence_of_element_located((By.ID, "job-progress")))
    assert progress.get_attribute("max") == "2"
    run_url = browser.current_url
    wait.until(_finished)
    assert browser.find_element(By.ID, "job-state").text == "finished"
    assert browser.find_element(By.ID, "job-count").text == "2 of 2 replications"
    wait.until(EC.presence_of_element_located((By.ID, "report-html")))
    tables = browser.find_elements(By.CSS_SELECTOR, "table.results")
    assert tables and "95% CI" in browser.page_source
    browser.save_screenshot(str(shots / "4-run.png"))

    # The link is shareable: a fresh visit shows the same finished job.
    browser.get(run_url)
    assert browser.find_element(By.ID, "job-state").text == "finished"

    # Compare with the baseline.
    browser.get(server.url + "/scenarios/more_beds")
    Select(browser.find_element(By.ID, "base")).select_by_value("baseline")
    count = browser.find_element(By.ID, "compare-replications")
    count.clear()
    count.send_keys("2")
    browser.find_element(By.ID, "compare").click()
    wait.until(EC.presence_of_element_located((By.ID, "job-progress")))
    wait.until(_finished)
    assert browser.find_element(By.ID, "job-state").text == "finished"
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "more_beds compared with baseline"
    forest = browser.find_elements(By.CSS_SELECTOR, "figure[id^='figure-forest'] img")
    assert forest, "the comparison shows a forest plot of paired differences"
    assert browser.execute_script("return arguments[0].naturalWidth", forest[0]) > 0
    browser.save_screenshot(str(shots / "5-compare.png"))

    # The board report.
    browser.find_element(By.ID, "report-html").click()
    wait.until(lambda d: "report.html" in d.current_url)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "more_beds" in text and "baseline" in text
    browser.save_screenshot(str(shots / "6-report.png"))
    print(f"screenshots in {shots}")


def test_a_units_fields_open_under_its_beds_and_are_checked_as_typed(
    server: Server, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    wait = _wait(browser, 30)
    browser.get(server.url + "/")
    row = browser.find_element(By.XPATH, "//tr[td/a[text()='baseline']]")
    row.find_element(By.NAME, "name").send_keys("short_staffed")
    row.find_element(By.TAG_NAME, "button").click()
    # Beacon Low Secure (units[4]): its fields are closed under a one-line summary.
    summary = wait.until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, "label[for='show-f-units-4-beds']"))
    )
    assert summary.text == "men · mental illness · all beds staffed"
    staffed_id = "f-units-4-staffed-beds"
    assert not browser.find_element(By.ID, staffed_id).is_displayed()
    summary.click()
    staffed = wait.until(EC.visibility_of_element_located((By.ID, staffed_id)))

    staffed.send_keys("50")
    problem = wait.until(EC.visibility_of_element_located((By.ID, staffed_id + "-problem")))
    assert "staffed_beds (50) is more than beds (40)" in problem.text
    assert not browser.find_element(By.ID, "save").is_enabled()
    browser.save_screenshot(str(shots / "1-staffed-too-many.png"))

    staffed = browser.find_element(By.ID, staffed_id)
    staffed.clear()
    staffed.send_keys("12")
    wait.until(EC.text_to_be_present_in_element_value((By.ID, "yaml-text"), "staffed_beds: 12"))
    assert browser.find_element(By.ID, staffed_id).is_displayed(), "stays open as typed"
    browser.find_element(By.ID, "f-units-4-streams-2").click()  # ld autism too
    wait.until(EC.text_to_be_present_in_element_value((By.ID, "yaml-text"), "ld_autism"))
    browser.find_element(By.ID, "save").click()
    wait.until(EC.visibility_of_element_located((By.CLASS_NAME, "saved")))
    stored = (server.workspace / "scenarios" / "short_staffed.yaml").read_text()
    assert "staffed_beds: 12" in stored and "- ld_autism" in stored
    summary = browser.find_element(By.CSS_SELECTOR, "label[for='show-f-units-4-beds']")
    assert summary.text == "men · mental illness, ld autism · 12 beds staffed"
    browser.save_screenshot(str(shots / "2-saved.png"))

    # Women from the start date: the census's men in the ward are one message at 'Takes'.
    browser.find_element(By.CSS_SELECTOR, "label[for='show-f-units-4-beds']").click()
    Select(browser.find_element(By.ID, "f-units-4-sex")).select_by_value("female")
    problem = wait.until(EC.visibility_of_element_located((By.ID, "f-units-4-sex-problem")))
    assert "Beacon Low Secure does not take sex 'male' (it takes female)" in problem.text
    assert not browser.find_element(By.ID, "save").is_enabled()
    browser.save_screenshot(str(shots / "3-census-refuses.png"))
    print(f"screenshots in {shots}")
