"""The measurement scripts run and report what they claim to (quick grids; the full runs are in the README)."""
import json
import subprocess
import sys

from conftest import ROOT


def test_cam_workloads_quick(tmp_path):
    out = tmp_path / "cam.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "cam_workloads.py"), "--quick", "--out", str(out)],
                   check=True, capture_output=True, text=True)
    document = json.loads(out.read_text())
    rows = {(row["workload"], row["spacing"]): row["mean"] for row in document["rows"]}
    assert len(rows) == 8
    assert rows[("paper testbench", "paper (14 ms)")]["recall_content"] == 1.0
    for measures in rows.values():
        assert set(measures) == {"learn", "recall_cue", "recall_content", "extra_cues", "missing_cues"}
        assert all(0.0 <= value <= 1.0 for value in measures.values())
