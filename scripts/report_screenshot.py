"""Take the README's picture of a report: the top of a report.html as headless Chromium shows it, as a PNG.
Without FOLDER it first deploys a small feed-forward network to spinn5 and loihi2 (into a temporary folder;
loihi2 needs the Lava environment) and writes its report.

    .venv/bin/python scripts/report_screenshot.py [FOLDER] [--out docs/images/report.png] [--height 1500]

Needs Debian's chromium and chromium-driver and selenium (see neurodeploy.report.browser).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from neurodeploy.report import write_report
from neurodeploy.report.browser import headless_chromium, unavailable

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = (
    "deploy",
    "feedforward-poisson",
    "--param",
    "n_neurons=40",
    "--param",
    "duration_ms=1000",
    "--target",
    "spinn5",
    "--target",
    "loihi2",
)
WIDTH = 1200


def screenshot(report: Path, out: Path, height: int) -> None:
    with headless_chromium(WIDTH, height) as driver:
        # The page's viewport exactly (a headless window keeps some of its height for itself).
        metrics = {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.get(report.resolve().as_uri())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(driver.get_screenshot_as_png())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="a run, compare or deploy folder (default: deploy one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "report.png")
    parser.add_argument("--height", type=int, default=1500, help="pixels of the page's top to show")
    arguments = parser.parse_args()
    problem = unavailable()
    if problem is not None:
        sys.exit(f"error: a screenshot {problem}")
    with tempfile.TemporaryDirectory() as scratch:
        if arguments.folder is None:  # the deploy writes its report, naming the folder as the user gave it
            command = [sys.executable, "-m", "neurodeploy", *DEPLOY, "--out", "runs/ff"]
            subprocess.run(command, check=True, cwd=scratch, stdout=subprocess.DEVNULL)
            report = Path(scratch) / "runs" / "ff" / "report.html"
        else:
            report = write_report(arguments.folder)
        screenshot(report, arguments.out, arguments.height)
    print(arguments.out)


if __name__ == "__main__":
    main()
