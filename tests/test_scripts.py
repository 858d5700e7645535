"""The measurement scripts run and report what they claim to (quick grids; the full runs are in README.md and docs)."""

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


def test_bench_lava_small_matches_the_hand_written_graph(tmp_path):
    out = tmp_path / "bench_lava.json"
    printed = run_script(
        "bench_lava.py",
        *("--neurons", 100, "--steps", 30, "--repeats", 1, "--deploy-python", "", "--out", out),
        python=LavaEnvironment(default_location()).python,
    )
    row = next(line.split() for line in printed.splitlines() if line.split()[:1] == ["100"])
    assert row[-1] == "True"
    (measured,) = json.loads(out.read_text())["graphs"]
    assert measured["same_spikes"] and measured["neurons"] == 100 and measured["steps"] == 30
    for share in ("ours_read_back_share", "ours_with_v_read_back_share", "hand_written_read_back_share"):
        assert 0 < measured[share] < 1, share


def test_bench_compile_small():
    lines = run_script("bench_compile.py", "--neurons", 1000).strip().splitlines()
    assert lines[-1].split()[0] == "1000" and int(lines[-1].split()[1]) > 50000


@pytest.mark.slow
def test_bench_emulation_small_runs_the_same_network_as_its_brian2_baseline(tmp_path):
    """The emulation and hand-written Brian2 on 10^3 neurons and 10^5 synapses: about as many synapses and,
    driven alike, about as many spikes (the baseline draws its own connections and weights)."""
    out = tmp_path / "bench.json"
    run_script(
        "bench_emulation.py", "--cases", "1000:100000", "--duration", 200, "--repeats", 1,
        "--kinds", "emulation", "brian2-numpy", "--out", out,
    )  # fmt: skip
    case = json.loads(out.read_text())["cases"][0]
    emulation, brian2 = case["results"]["emulation"], case["results"]["brian2-numpy"]
    for measured in (emulation, brian2):
        assert abs(measured["synapses"] - 100_000) < 3_000
        assert measured["loop_s"] > 0 and measured["bytes_per_synapse"] > 0
    assert 0.7 < emulation["spikes"]["neurons"] / brian2["spikes"]["neurons"] < 1.4
    assert emulation["spikes"]["neurons"] > 200  # tens of Hz
    assert case["ratios"]["emulation_x_real_time"] == pytest.approx(0.2 / emulation["loop_s"])


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


@pytest.mark.slow
def test_wave_layers_quick(tmp_path):
    out = run_script(
        "wave_layers.py",
        "--n",
        "8",
        "--r-e",
        "1.5",
        "--radii",
        "1,2",
        "--locality-radius",
        "2",
        "--duration-ms",
        "500",
        "--jobs",
        "1",
        "--out",
        tmp_path,
    )
    document = json.loads((tmp_path / "wave_layers.json").read_text())
    measured = document["measured"]
    assert set(measured["radii"]) == {"1", "2"} and "r_e=2" in out
    # The controls hold the weights (no STDP) or have no waves (no lateral wiring).
    assert measured["no-stdp"]["fields"]["L1->L2"].keys() == {"initial"}
    assert measured["stdp"]["layers"]["L1"]["waves_per_s"] > 10 * measured["no-lateral"]["layers"]["L1"]["waves_per_s"]
    assert measured["radii"]["2"]["layers"]["L1"]["mean_size"] > measured["radii"]["1"]["layers"]["L1"]["mean_size"]
    assert (tmp_path / "wave_layers.png").stat().st_size > 10000


@pytest.mark.slow
def test_wave_layers_identity_quick(tmp_path):
    """The emulation against its quantization-aware reference, as the script reports it: a run that grew."""
    run_script(
        *("wave_layers_identity.py", "--n", 8, "--duration-ms", 300, "--backends", "spinnaker", "--out", tmp_path)
    )
    measured = json.loads((tmp_path / "wave_layers_identity.json").read_text())["backends"]["spinnaker"]
    assert measured["populations"]["L2"]["reference_spikes"] > 20
    for counts in measured["populations"].values():
        assert counts["target_spikes"] == counts["reference_spikes"]
        assert counts["target_in_reference"] == counts["reference_in_target"] == 1.0
    weights = measured["plastic_projections"]["L1->L2"]
    assert weights["same_synapses"] and weights["largest_weight_difference_nA"] == 0.0
    assert weights["largest_growth_nA"] > 0.1
