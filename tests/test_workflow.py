"""The Python workflow (neurodeploy.workflow): the README's block as written, and each piece against what
the run folders and the semantics say independently."""

import json
import re
import warnings

import numpy as np
import pytest

import neurodeploy as nd
from conftest import ROOT
from neurodeploy.errors import NeurodeployWarning, ValidationError

MARKER = "<!-- workflow example: tests/test_workflow.py runs the next block as written -->"


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, re.S)
    assert found, "the README's workflow example is gone"
    return found.group(1)


def needs_pandas():
    return pytest.importorskip("pandas", reason="pandas is not installed here (make setup installs constraints.txt)")


@pytest.mark.slow
def test_the_readmes_python_block_runs_as_written(tmp_path, monkeypatch):
    needs_pandas()
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(readme_block(), "README.md", "exec"), namespace)
    written = json.loads((tmp_path / "runs" / "ff-spinnaker" / "spikes.json").read_text())
    spikes = namespace["spikes"]
    for label, population in written["populations"].items():
        rows = spikes[spikes.population == label]
        for neuron, times in enumerate(population["spike_times_ms"]):
            assert rows[rows.neuron == neuron].time_ms.tolist() == times
    assert len(spikes) == sum(len(t) for p in written["populations"].values() for t in p["spike_times_ms"])
    assert len(namespace["block"].segments[0].spiketrains) == sum(p["size"] for p in written["populations"].values())
    deployed = json.loads((tmp_path / "runs" / "ff-spinn5" / "deploy.json").read_text())
    assert namespace["deployed"].passed == deployed["passed"] and namespace["deployed"].verdict == deployed["verdict"]
    assert namespace["deployed"].explanation == deployed["explain"]["text"]
    assert namespace["deployed"].report.samefile(tmp_path / "runs" / "ff-spinn5" / "report.html")
    assert namespace["comparison"].to_dict()["overall"]["run_spikes"] == sum(
        len(t) for t in written["populations"]["neurons"]["spike_times_ms"]
    )


def one_neuron(duration=10.0, **parameters) -> nd.Network:
    """One neuron that a source spike at 1 ms reaches, over a delay of one tick, in tick 2."""
    net = nd.Network("one", duration=duration)
    net.spike_source("S", [[1.0, 5.0], [2.0]])
    net.population("P", 1, parameters=parameters)
    net.project("S", "P", nd.FromList([0], [0]), weight=0.5, delay=1.0)
    net.record("P", ["spikes", "v", "isyn_exc"])
    net.record("S")
    return net


@pytest.mark.parametrize("backend, recording", [("brian2", "end_of_tick"), ("spinnaker", "spynnaker")])
def test_neo_signals_stand_at_the_time_they_describe_whatever_the_recording_convention(backend, recording):
    """The input arrives in tick 2, so V first leaves v_rest at the end of tick 2, at 3 ms: the third sample
    at the end of each tick, the fourth at the start of each."""
    run = nd.Model(one_neuron()).run(backend, recording=recording)
    segment = run.to_neo().segments[0]
    signals = {signal.name: signal for signal in segment.analogsignals}
    v, current = signals["P.v"], signals["P.isyn_exc"]
    assert str(v.units.dimensionality) == "mV" and str(current.units.dimensionality) == "nA"
    assert v.shape == (10, 1) and float(v.sampling_period) == 1.0
    assert float(v.t_start) == (1.0 if recording == "end_of_tick" else 0.0)
    moved = np.flatnonzero(np.abs(v.magnitude[:, 0] + 65.0) > 1e-9)
    assert float(v.times[moved[0]]) == 3.0
    assert np.array_equal(v.magnitude, run.traces["P"]["v"]) and v.annotations["population"] == "P"
    trains = {train.name: train for train in segment.spiketrains}
    assert trains["S[0]"].times.magnitude.tolist() == [1.0, 5.0] and trains["S[1]"].annotations["neuron"] == 1


def test_spikes_and_traces_as_pandas_frames():
    needs_pandas()
    run = nd.Model(one_neuron()).run("brian2")
    spikes = run.to_pandas()
    sources = spikes[spikes.population == "S"]
    assert sources[["neuron", "time_ms"]].values.tolist() == [[0, 1.0], [0, 5.0], [1, 2.0]]
    assert list(spikes.columns) == ["population", "neuron", "time_ms"] and str(spikes.neuron.dtype) == "int64"
    traces = run.to_pandas("traces")
    assert list(traces.columns) == ["population", "variable", "neuron", "time_ms", "value"]
    v = traces[traces.variable == "v"]
    assert len(v) == 10 and v.time_ms.tolist() == [float(t) for t in range(1, 11)]
    assert v.value.tolist() == run.traces["P"]["v"][:, 0].tolist()
    with pytest.raises(ValidationError, match="'spikes' or 'traces'"):
        run.to_pandas("weights")


def test_a_comparison_as_a_frame_holds_what_compare_json_holds(tmp_path):
    needs_pandas()
    model = nd.Model(one_neuron(i_offset=2.0))
    reference = model.run("brian2", out=tmp_path / "reference")
    comparison = nd.compare(model.run("spinnaker"), tmp_path / "reference")
    frame = comparison.to_pandas()
    document = comparison.to_dict()
    assert list(frame.index) == ["P", "S", "overall"] and frame.loc["S", "input"] and not frame.loc["P", "input"]
    for label in ("P", "S"):
        assert frame.loc[label, "same_tick"] == document["populations"][label]["same_tick"]
    assert frame.loc["overall", "reference_spikes"] == sum(t.size for t in reference.spikes.populations["P"])


def test_a_run_saved_and_read_back_is_the_same_run_and_compares_as_the_command_does(tmp_path):
    model = nd.Model(one_neuron(i_offset=2.0))
    run = model.run("spinnaker", out=tmp_path / "a")
    read = nd.Run.read(tmp_path / "a")
    assert read.spikes.to_dict() == run.spikes.to_dict() and read.recording == run.recording
    assert np.array_equal(read.traces["P"]["v"], run.traces["P"]["v"])
    assert read.manifest["stages"]["write"] is not None and run.manifest["wall_time_s"] == read.manifest["wall_time_s"]
    comparison = nd.compare(tmp_path / "a", read)
    assert comparison.passed and comparison.spikes.overall.same_tick_fraction == 1.0
    assert comparison.traces["traces"]["P.v"]["bit_identical"]
    assert "traces: P.v bit-identical" in comparison.table()


def test_a_protocol_drives_a_copy_and_its_answers_come_back():
    model = nd.load_model("ca3-cam", cue_size=5)
    run = model.run("brian2", protocol="ca3-cam-exp1")
    assert run.answers["operations"] and run.spikes.duration_ms > 0
    assert all(times.size == 0 for times in model.network.spike_sources["IN"].spike_times)
    assert model.network.duration is None


def test_values_in_the_wrong_unit_and_unsent_inputs_are_python_warnings():
    network = one_neuron(duration=3.0, cm=250)
    with pytest.warns(NeurodeployWarning, match="picofarads"):
        model = nd.Model(network)
    assert len(model.warnings) == 1
    with pytest.warns(NeurodeployWarning, match="spike source 'S': 1 spikes at or after the run's end"):
        model.run("spinnaker")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.run("spinnaker", duration=2.0)  # shorter on purpose: nothing to say
    with pytest.raises(ValidationError, match="stimulus for 'S', field 'spike_times\\[0\\]': 4 ms is not within"):
        model.run("spinnaker", stimulus={"S": [[1.0, 4.0], []]})


def test_a_deploy_takes_several_targets_and_load_still_reads_a_network_file(tmp_path):
    model = nd.load_model("feedforward-poisson", n_neurons=2, n_inputs=2, duration_ms=20.0)
    deployed = model.deploy(["spinn5", "spinn5-2019"], out=tmp_path / "d")
    assert deployed.summary["targets"] == ["spinn5", "spinn5-2019"]
    portability = [item for item in deployed.summary["comparisons"] if item["kind"] == "portability"]
    assert [(item["run"], item["reference"]) for item in portability] == [("spinn5-2019/target", "spinn5/target")]
    spikes = deployed.run("spinn5-2019/target").spikes
    assert spikes.to_dict() == nd.Run.read(tmp_path / "d" / "spinn5-2019" / "target").spikes.to_dict()
    assert isinstance(nd.load(model.save(tmp_path / "m.yaml")), nd.Network)
    assert nd.load_model(tmp_path / "m.yaml").network == model.network
