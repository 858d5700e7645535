"""The measurement scripts run and report what they claim to (quick grids; the full runs are in the README)."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from neurodeploy.backends.lava.environment import LavaEnvironment, default_location


@pytest.mark.slow
def test_cam_workloads_quick(tmp_path):
    out = tmp_path / "cam.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cam_workloads.py"), "--quick", "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    document = json.loads(out.read_text())
    rows = {(row["workload"], row["spacing"]): row["mean"] for row in document["rows"]}
    assert len(rows) == 8
    assert rows[("paper testbench", "paper (14 ms)")]["recall_content"] == 1.0
    for measures in rows.values():
        assert set(measures) == {"learn", "recall_cue", "recall_content", "extra_cues", "missing_cues"}
        assert all(0.0 <= value <= 1.0 for value in measures.values())


def run_script(name, *args, python=sys.executable):
    return subprocess.run(
        [str(python), str(ROOT / "scripts" / name), *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout


def test_bench_lava_small_matches_the_hand_written_graph():
    lines = (
        run_script("bench_lava.py", "--neurons", 100, "--steps", 30, python=LavaEnvironment(default_location()).python)
        .strip()
        .splitlines()
    )
    assert lines[-1].split()[0] == "100" and lines[-1].split()[-1] == "True"


def test_bench_compile_small():
    lines = run_script("bench_compile.py", "--neurons", 1000).strip().splitlines()
    assert lines[-1].split()[0] == "1000" and int(lines[-1].split()[1]) > 50000


@pytest.mark.slow
def test_bench_reference_small(tmp_path):
    """Both code targets run the reference alike, and the hand-written Brian2 is the same network: its spikes
    within a few percent of the reference's (exact ODE steps, not the description's per-tick ones)."""
    run_script(
        *("bench_reference.py", "--neurons", 300, "--synapses", 9000, "--duration-ms", 200),
        *("--repeats", 1, "--out", tmp_path),
    )
    document = json.loads((tmp_path / "bench_reference.json").read_text())
    runs = {name: measured[0] for name, measured in document["runs"].items()}
    spikes = {name: run["spikes"] for name, run in runs.items()}
    assert spikes["reference cython"] == spikes["reference numpy"] > 1000
    assert abs(spikes["handwritten cython"] / spikes["reference cython"] - 1) < 0.05
    assert abs(spikes["quantized cython"] / spikes["reference cython"] - 1) < 0.05
    assert runs["reference cython"]["codegen"] == "cython" and runs["reference numpy"]["codegen"] == "numpy"
    assert set(document["first_compile_s"]) == {"reference", "handwritten", "quantized"}
    assert all(ratio > 0 for ratio in document["ratios"].values()) and len(document["ratios"]) == 4


def test_cam_recordings_report(cam_recordings):
    lines = (
        run_script("cam_recordings.py", "--shared", cam_recordings.parents[1], "--backends", "brian2", "spinnaker")
        .strip()
        .splitlines()[1:]
    )
    assert len(lines) == 4
    for line in lines:
        fields = line.split()
        assert fields[2] == fields[3] and fields[4] == "0"  # every hardware spike, nothing extra


@pytest.mark.slow
def test_livewired_turnover_plot(tmp_path):
    out = run_script("livewired_turnover.py", "--out", tmp_path)
    assert "12/12" in out
    assert "same formation, elimination, pruning and recruitment on brian2, spinnaker, lava: True" in out
    assert (tmp_path / "livewired_turnover.png").stat().st_size > 10000
    document = json.loads((tmp_path / "livewired_turnover.json").read_text())
    assert [e["alive_after"] for e in document["turnover"]["B"]] == [8, 8, 4, 4, 8, 8]


@pytest.mark.slow
def test_topographic_map_quick(tmp_path):
    out = run_script("topographic_map.py", "--duration-ms", "2000", "--out", tmp_path)
    assert "Bogdan et al. 2018" in out and "2.355" in out
    document = json.loads((tmp_path / "topographic_map.json").read_text())
    measures = document["measures"]
    # STDP alone keeps its synapses: its fields by connections are the initial ones.
    assert measures["stdp by connections"] == measures["initial"]
    assert document["runs"]["rewiring+stdp"]["events"]["S->P"] > 0
    assert measures["rewiring+stdp by connections"] != measures["initial"]
    assert (tmp_path / "topographic_map.png").stat().st_size > 10000
