#!/usr/bin/env python3
"""Makes the pictures of the documentation again, from real runs.

Usage: /usr/bin/python3 docs/img/make_images.py BUILD/lbsim

The reports are virtual runs (the same picture every time) drawn with
--report and turned into PNG by rsvg-convert (librsvg2-bin). The dashboard is
a socket run of the tutorial's guided example, seen by Debian's headless
Chromium through python3-selenium and chromium-driver (as the browser tests
see it); its figures vary from run to run."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "support"))
from lbsimtest import Dashboard  # noqa: E402

# name: the arguments of a virtual run whose report it is
REPORTS = {
    "report-linkerd": ["--clock", "virtual", "--replay", "linkerd", "--compare", "round-robin,p2c-peak-ewma",
                       "--time-scale", "0.25", "--seed", "1"],
    "report-capacity": ["--clock", "virtual", "--compare", "ema-greedy,p2c-peak-ewma", "--rounds", "10",
                        "--latency", "100", "--drift-period", "0", "--capacity", "20", "--seed", "1", "-q"],
    "sweep-study": ["--sweep", "explore=0,0.002,0.005,0.01,0.02,0.05", "--sweep", "alpha=0.1,0.3,0.6,0.9",
                    "--rounds", "20000", "--seed", "1", "--sweep-metric", "regret"],
    # docs/fleet.md
    "fleet-report": ["--clock", "virtual", "-q", "--seed", "3", "-n", "5", "--clients", "50", "--rate", "2000",
                     "--duration", "20"],
    "fleet-supermarket": ["--clock", "virtual", "-q", "--seed", "1", "-n", "1000", "--capacity", "1", "--latency", "0",
                          "--jitter", "exp:1", "--drift-period", "0", "--net-delay", "0", "--rate", "900000",
                          "--duration", "3", "--warmup", "1", "--compare", "least-outstanding,random", "--choices",
                          "2", "--sweep", "clients=1,2,5,10,20,50,100,200,500,1000", "--sweep-metric", "mean"],
    "fleet-herd": ["--clock", "virtual", "-q", "--seed", "1", "-n", "10", "--latency", "50:150", "--drift-period", "5",
                   "--drift-step", "10", "--latency-floor", "20", "--latency-ceil", "300", "--capacity", "10",
                   "--rate", "600", "--duration", "60", "--warmup", "10", "--interval", "5", "--sweep",
                   "clients=1,2,5,10,20,50,100", "--sweep", "explore=0,0.05,0.2", "--sweep-metric", "p99"],
}

# The tutorial's guided example, bounded: backend 2 slowed to 2 s after round 6.
DASHBOARD = ["--compare", "ema-greedy,p2c-peak-ewma", "--seed", "39", "--drift-period", "0", "--sleep", "0.5",
             "--rounds", "14"]
SLOW_AFTER_ROUND = 6
# Wide enough for the two policies' panels side by side; the charts, not the tables under them.
WINDOW = (1500, 1000)


def report(lbsim, name, args, tmp):
    svg = os.path.join(tmp, name + ".svg")
    subprocess.run([lbsim] + args + ["--report", svg], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    png = os.path.join(HERE, name + ".png")
    subprocess.run(["rsvg-convert", "-o", png, svg], check=True)
    print(png)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="lbsim-chromium-")
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--window-size=%d,%d" % WINDOW, "--user-data-dir=" + profile]:
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
    return driver, profile


def wait_js(driver, script, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script("return (" + script + ");")
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit("the page did not show %s within %d s" % (script, timeout))


def shares(driver, when):
    """What the tutorial's text says of the run: each policy's shares of the last three rounds."""
    for policy in ("ema-greedy", "p2c-peak-ewma"):
        got = driver.execute_script("return [1, 2, 3, 4, 5].map(n => lbsim.share(%r, n, 3))" % policy)
        print("%s, %s: %s" % (when, policy, " ".join("%.0f%%" % (100 * (v or 0)) for v in got)))


def dashboard(lbsim):
    lb = Dashboard(lbsim, DASHBOARD)
    driver, profile = browser()
    try:
        driver.get("http://127.0.0.1:%d/" % lb.port)
        wait_js(driver, "window.lbsim && lbsim.rounds('ema-greedy') >= %d" % SLOW_AFTER_ROUND)
        shares(driver, "before backend 2 is slowed")
        req = urllib.request.Request("http://127.0.0.1:%d/backends/2" % lb.port,
                                     data=json.dumps({"latency_ms": 2000}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        wait_js(driver, "lbsim.state.ended", 120)
        shares(driver, "at the end")
        time.sleep(1.5)  # the last redraw
        png = os.path.join(HERE, "dashboard.png")
        driver.save_screenshot(png)
        print(png)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        lb.stop()


def main():
    lbsim = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in REPORTS.items():
            report(lbsim, name, args, tmp)
    dashboard(lbsim)


if __name__ == "__main__":
    main()
