#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's headless Chromium, driven with
python3-selenium through chromium-driver.

Usage: browser_test.py LBSIM_BINARY ARTEFACT_DIR TEST_NAME
Every function named test_* is one ctest entry (label browser). Each starts
lbsim with --admin 0 --port-base 0, loads the page, waits (bounded) for what
it needs, and saves a screenshot of the whole page in ARTEFACT_DIR (the path
is printed). Exit 77: skipped, Chromium, its driver or Selenium missing
(unless LBSIM_REQUIRE_TOOLS=1, as in CI)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402
from lbsimtest import Dashboard  # noqa: E402

LBSIM = None
ARTEFACTS = None
SKIP = 77
# Bound on waiting for something the page must show: generous, so that a
# loaded machine or a sanitizer build only makes a test slower.
EVENTUALLY_S = 30



def Lbsim(args):
    return Dashboard(LBSIM, args)


def browser():
    """Headless Chromium with a fresh profile. In a container it needs
    --no-sandbox, and --disable-dev-shm-usage where /dev/shm is small."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="lbsim-chromium-")
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--no-first-run",
              "--disable-default-apps", "--disable-sync", "--window-size=1500,1000", "--user-data-dir=" + profile]:
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
    driver.lbsim_profile = profile
    return driver


def quit_browser(driver):
    driver.quit()
    shutil.rmtree(driver.lbsim_profile, ignore_errors=True)


def wait_js(driver, script, timeout, what):
    """Polls a JavaScript expression until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script("return (" + script + ");")
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("%s: not within %g s (last %r)" % (what, timeout, value))


def screenshot(driver, name):
    """The whole page, as a PNG artefact."""
    for _ in range(2):  # the page reflows at the new size
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1500, min(max(1000, height + 40), 4000))
        time.sleep(0.6)
    path = os.path.join(ARTEFACTS, name + ".png")
    driver.save_screenshot(path)
    print("screenshot: %s" % path)
    return path


def no_page_errors(driver, port):
    """Nothing blocked by the Content-Security-Policy, no script error, and
    nothing fetched from anywhere but the admin itself."""
    logs = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    bad = [e for e in logs if "Content Security Policy" in e["message"] or "Uncaught" in e["message"]
           or e["level"] == "SEVERE"]
    check(not bad, "console: %r" % bad)
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    check(urls and all(u.startswith("http://127.0.0.1:%d/" % port) for u in urls), urls)


def favourite(driver, policy, n, k=3):
    shares = driver.execute_script("return [...Array(%d).keys()].map(i => lbsim.share(%r, i + 1, %d))" % (n, policy, k))
    best = max(range(n), key=lambda i: shares[i] or 0)
    return best + 1, shares


def use_editor(driver, backend, field, value):
    """The page's own controls: the backend's row, a field of the editor, Apply."""
    from selenium.webdriver.common.by import By
    driver.find_element(By.CSS_SELECTOR, '#backends tbody tr[data-backend="%d"]' % backend).click()
    wait_js(driver, "document.getElementById('ctl-backend').value === '%d'" % backend, EVENTUALLY_S,
            "row selected")
    # Typed over as a user does (select all, type): the page refills the
    # editor with the backend's state as it changes, but not while the box
    # has the focus, which WebDriver's clear() takes away (a refill could
    # land between clear() and the typing).
    from selenium.webdriver.common.keys import Keys
    box = driver.find_element(By.ID, field)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE, str(value))
    check(box.get_attribute("value") == str(value), "the editor holds %r" % box.get_attribute("value"))
    driver.find_element(By.ID, "ctl-apply").click()
    wait_js(driver, "document.getElementById('ctl-result').textContent.startsWith('backend %d:')" % backend,
            EVENTUALLY_S, "the change answered")


# ---- tests -------------------------------------------------------------------

def test_demo_draws_and_a_slowed_backend_loses_its_share():
    # Distinct latencies (20 to 80 ms, fixed): ema-greedy settles on the fastest.
    lb = Lbsim(["-n", "4", "--latency", "20:80", "--drift-period", "0", "--sleep", "0.1", "-s", "3"])
    d = browser()
    try:
        d.get(lb.url)
        wait_js(d, "document.body.dataset.state === 'live'", EVENTUALLY_S, "the stream is live")
        # Real points: every round, and ticks in between.
        wait_js(d, "lbsim.rounds('ema-greedy') >= 5 && lbsim.points()[0] >= 20", EVENTUALLY_S, "charts drawn")
        from selenium.webdriver.common.by import By
        check(len(d.find_elements(By.CSS_SELECTOR, "#panels .panel[data-policy]")) == 1, "one panel")
        check(len(d.find_elements(By.CSS_SELECTOR, "#panels canvas")) == 4, "four charts")
        wait_js(d, "[1, 2, 3, 4].some(n => lbsim.share('ema-greedy', n, 3) > 0.8)", EVENTUALLY_S,
                "ema-greedy herds")
        fav, shares = favourite(d, "ema-greedy", 4)
        use_editor(d, fav, "ctl-latency", 400)
        # The effect within one update: the table, then the traffic.
        wait_js(d, "document.querySelector('#backends tr[data-backend=\"%d\"]').cells[1].textContent === '400'" % fav,
                EVENTUALLY_S, "true latency in the table")
        wait_js(d, "lbsim.share('ema-greedy', %d, 3) < 0.2" % fav, EVENTUALLY_S,
                "traffic moves away from backend %d" % fav)
        new_fav, shares = favourite(d, "ema-greedy", 4)
        check(new_fav != fav and shares[new_fav - 1] > 0.6, "herds onto another: %r" % shares)
        check(d.execute_script("return lbsim.state.changes.some(c => c.source === 'admin' && c.backend === %d)"
                               % (fav - 1)), "the change is marked")
        # A backend made to fail with its row's button.
        other = 1 if fav != 1 else 2
        d.find_element(By.CSS_SELECTOR, '#backends tr[data-backend="%d"] button' % other).click()
        wait_js(d, "document.querySelector('#backends tr[data-backend=\"%d\"] .badge').textContent === 'down'" % other,
                EVENTUALLY_S, "backend %d shown down" % other)
        no_page_errors(d, lb.port)
        screenshot(d, "demo")
    finally:
        quit_browser(d)
        lb.stop()
    check(re.search(r"^backend %d latency [0-9.]+ -> 400\.00 ms \(admin\)$" % fav, "".join(lb.stderr), re.M),
          lb.stderr[-5:])


def test_compare_has_a_panel_per_policy_on_the_same_axes():
    policies = ["ema-greedy", "p2c-peak-ewma", "least-outstanding", "round-robin"]
    lb = Lbsim(["--compare", ",".join(policies), "-n", "4", "--latency", "20", "--drift-period", "0", "--sleep",
                "0.1", "-s", "1"])
    d = browser()
    try:
        d.set_window_size(1500, 2600)  # every panel on screen: off-screen ones are not redrawn
        d.get(lb.url)
        wait_js(d, "lbsim.points().length === 4 && lbsim.points().every(p => p >= 10) && "
                   "%r.every(p => lbsim.rounds(p) >= 4)" % policies, EVENTUALLY_S, "four panels drawn")
        from selenium.webdriver.common.by import By
        panels = [p.get_attribute("data-policy") for p in d.find_elements(By.CSS_SELECTOR, "#panels .panel")]
        check(panels == policies, panels)
        # Compared on the same axes: every panel's latency axis is the same.
        axes = wait_js(d, "(() => { const a = lbsim.state.panels.map(p => [p.latency.scales.y.min, "
                          "p.latency.scales.y.max, p.latency.scales.x.max].join()); "
                          "return a.every(x => x === a[0]) && a; })()", EVENTUALLY_S,
                  "the same axes in every panel")
        check(len(axes) == 4, axes)
        # Backend 2 fails every request: the adaptive policies leave it, round-robin cannot.
        use_editor(d, 2, "ctl-error", 1)
        wait_js(d, "lbsim.share('p2c-peak-ewma', 2, 3) < 0.12 && lbsim.share('least-outstanding', 2, 3) !== null",
                EVENTUALLY_S, "p2c-peak-ewma leaves the failing backend")
        rr = d.execute_script("return lbsim.share('round-robin', 2, 3)")
        check(0.2 <= rr <= 0.3, "round-robin keeps a quarter: %r" % rr)
        no_page_errors(d, lb.port)
        screenshot(d, "compare")
    finally:
        quit_browser(d)
        lb.stop()


def test_a_fleet_shows_its_clients_spread_and_herd():
    lb = Lbsim(["--clients", "20", "--compare", "ema-greedy,random", "-n", "4", "--latency", "20:80",
                "--drift-period", "0", "--explore", "0", "--rate", "400", "--interval", "0.5", "-s", "2"])
    d = browser()
    try:
        d.get(lb.url)
        rows = wait_js(d, "(() => { const r = [...document.querySelectorAll('#fleet-table tbody tr')]"
                          ".map(tr => [...tr.children].map(td => td.textContent)); "
                          "return r.length === 2 && r.every(x => x[1] === '20' && x[2] !== '0') && r; })()",
                       EVENTUALLY_S, "the fleet table")
        check(rows[0][0] == "ema-greedy" and rows[1][0] == "random", rows)
        # The table says what the stream said (how much the clients herd on
        # sockets depends on how busy the machine is; the virtual clock's
        # tests check that).
        fleet = d.execute_script("return lbsim.state.pol[0].fleet")
        check(0 < fleet["herd"] <= 1 and fleet["imbalance"] >= 1, repr(fleet))
        check(rows[0][8] == "20.0 / 20.0 / 20.0", rows[0])  # clients per backend: every client uses all four
        no_page_errors(d, lb.port)
        screenshot(d, "fleet")
    finally:
        quit_browser(d)
        lb.stop()


def test_the_page_keeps_the_linkerd_replay_after_lbsim_exits():
    # The browser first: the replay lasts 6 s, and a loaded machine can take
    # longer than that to start Chromium.
    d = browser()
    try:
        lb = Lbsim(["--replay", "linkerd", "--time-scale", "0.1", "-s", "1"])
    except BaseException:
        quit_browser(d)
        raise
    try:
        d.get(lb.url)
        wait_js(d, "document.body.dataset.state === 'ended'", 30, "the run ends")
        check(lb.wait(15) == 0, "lbsim exit status")
        time.sleep(1.5)  # no reconnection, nothing blanked
        from selenium.webdriver.common.by import By
        check(d.find_element(By.ID, "status").text == "run ended", "status")
        banner = d.find_element(By.ID, "banner")
        check(banner.is_displayed() and "The run has ended" in banner.text, banner.text)
        rows = d.find_elements(By.CSS_SELECTOR, "#summary-table tbody tr")
        check([r.find_element(By.TAG_NAME, "td").text for r in rows] ==
              ["round-robin", "least-outstanding", "p2c-peak-ewma"], [r.text for r in rows])
        points = d.execute_script("return lbsim.points()")
        check(len(points) == 3 and all(p > 50 for p in points), points)
        # The stuck backend is marked, and its estimate climbed towards the failure latency.
        check(d.execute_script("return lbsim.state.changes.filter(c => c.backend === 0).length") >= 2, "markers")
        check(d.execute_script("return document.querySelector('#ctl-apply').disabled"), "controls off")
        no_page_errors(d, lb.port)
        screenshot(d, "linkerd")
    finally:
        quit_browser(d)
        lb.stop()


def main():
    global LBSIM, ARTEFACTS
    LBSIM, ARTEFACTS, name = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(ARTEFACTS, exist_ok=True)
    missing = [t for t in ("chromium", "chromedriver") if shutil.which(t) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        if os.environ.get("LBSIM_REQUIRE_TOOLS") == "1":
            raise AssertionError("%s not installed (LBSIM_REQUIRE_TOOLS=1)" % ", ".join(missing))
        print("skipped: %s not installed (apt-get install chromium chromium-driver python3-selenium)"
              % ", ".join(missing))
        sys.exit(SKIP)
    sys.exit(run_test(globals(), [LBSIM, LBSIM, name]))


if __name__ == "__main__":
    main()
