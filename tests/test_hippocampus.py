"""Hippocampal memories: the original parameters, the SpiNNaker hardware recordings reproduced spike
for spike on the reference, the operation protocols and the decoder against an ideal memory."""

import json

import pytest
from click.testing import CliRunner

from conftest import ROOT, run_reference
from neurodeploy.catalog import load_model, model_families
from neurodeploy.cli import main
from neurodeploy.errors import ValidationError
from neurodeploy.results import SpikeRecord

model_families()
from neurodeploy_models._hippocampus import paper_testbench  # noqa: E402

PROTOCOLS = ROOT / "models" / "protocols"
INTERNAL = [
    "CA3cueCueRecall",
    "CA3contCueRecall",
    "CA3contCond",
    "CA3contCondInt",
    "CA3cueContRecall",
    "CA3contContRecall",
    "CA3MergeCue",
    "CA3MergeCont",
]
# Durations of the recorded experiments (ticks 0..T-1), from ../shared/reference/ca3-cam/README.md.
RECORDINGS = {"exp1_recorded_spikes.json": 90.0, "exp3_recorded_spikes.json": 140.0}


def recorded_trains(recording, name, size):
    return [sorted(recording["populations"].get(name, {}).get(str(i), [])) for i in range(size)]


def recorded(recording):
    """The recording in our population layout: IN and OUT whole (cue neurons first), ticks per neuron."""
    c, m = recording["cue_size"], recording["content_size"]
    trains = {
        "IN": recorded_trains(recording, "INcue", c) + recorded_trains(recording, "INcont", m),
        "OUT": recorded_trains(recording, "OUTcue", c) + recorded_trains(recording, "OUTcont", m),
    }
    sizes = {"CA3cueCueRecall": c, "CA3cueContRecall": c, "CA3MergeCue": c, "CA3contCondInt": 1}
    for name in INTERNAL:
        trains[name] = recorded_trains(recording, name, sizes.get(name, m))
    return c, m, trains


def cam_run(cue_size, content_size, operations, model="ca3-cam"):
    loaded = load_model(model, {"cue_size": cue_size, "content_size": content_size})
    protocol = loaded.family.module.PROTOCOL
    parsed = protocol.parse(operations, loaded.arguments)
    result = run_reference(
        loaded.network.with_spike_times(protocol.stimulus(parsed, loaded.arguments)), protocol.duration_ms(parsed)
    )
    return protocol.decode(parsed, result.spikes, loaded.arguments)


def assert_ideal(answers):
    wrong = [
        (item["t"], item["op"], item["answer"], item["ideal"]) for item in answers["operations"] if not item["agrees"]
    ]
    assert not wrong, wrong[:3]
    assert answers["unexplained_out_spikes"] == [] and answers["summary"]["all_agree"]


def test_parameters_are_the_original_ones(cam_recordings):
    config = json.loads((cam_recordings / "network_config.json").read_text())
    c, m = 5, 10
    net = load_model("ca3-cam", {"cue_size": c, "content_size": m}).network
    names = {f"{name}L": name for name in INTERNAL}
    names.update(CA3mergeCueL="CA3MergeCue", CA3mergeContL="CA3MergeCont")
    for original, parameters in config["neuronParameters"].items():
        population = net.populations[names[original]]
        assert population.parameters == parameters, original
        assert population.initial_values["v"] == config["initNeuronParameters"][original]["vInit"]
    projections = {p.label: p for p in net.projections.values()}
    by_original = {
        "IL-CA3cueCueRecallL": "IN(cue)->CA3cueCueRecall",
        "IL-CA3contCueRecallL": "IN(content)->CA3contCueRecall",
        "CA3cueCueRecallL-CA3cueContRecallL-inh": "CA3cueCueRecall->CA3cueContRecall(inh)",
        "CA3mergeCueL-OL": "CA3MergeCue->OUT(cue)",
        "CA3mergeContL-OL": "CA3MergeCont->OUT(content)",
    }
    for original, synapse in config["synParameters"].items():
        label = by_original.get(original) or "->".join(names[part] for part in original.split("-"))
        projection = projections[label]
        # The two lateral inhibitions are scaled by the content size in the original code.
        scale = m if projection.receptor == "inhibitory" and "CA3cueContRecall" in label.split("->")[1] else 1
        assert projection.weight == synapse["initWeight"] * scale, original
        assert projection.delay == synapse["delay"], original
        if synapse["receptor_type"] == "STDP":
            rule = projection.plasticity
            assert (rule.tau_plus, rule.tau_minus, rule.A_plus, rule.A_minus, rule.w_min, rule.w_max) == tuple(
                synapse[k] for k in ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max")
            )
            assert projection.receptor == "excitatory"
        else:
            assert projection.receptor == synapse["receptor_type"], original
    assert sum(p.size for label, p in net.populations.items() if label != "OUT") == 3 * c + 4 * m + 1


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_hardware_recording_reproduced_spike_for_spike(cam_recordings, name):
    recording = json.loads((cam_recordings / name).read_text())
    c, m, expected = recorded(recording)
    network = load_model("ca3-cam", {"cue_size": c, "content_size": m}).network
    network = network.with_spike_times({"IN": [[float(t) for t in train] for train in expected["IN"]]})
    result = run_reference(network, RECORDINGS[name])
    for population, trains in expected.items():
        ours = [ticks.tolist() for ticks in result.spikes.ticks(population)]
        mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(ours, trains)) if a != b]
        assert not mismatches, f"{population}: (neuron, ours, hardware) {mismatches[:4]}"
    assert sum(len(t) for t in expected["OUT"]) > 0


@pytest.mark.parametrize(
    "protocol_file, recording",
    [("ca3-cam-exp1.json", "exp1_recorded_spikes.json"), ("ca3-cam-exp3-state-map.json", "exp3_recorded_spikes.json")],
)
def test_protocol_files_give_the_recorded_inputs_and_decode_the_hardware_output(
    cam_recordings, protocol_file, recording
):
    data = json.loads((cam_recordings / recording).read_text())
    c, m, expected = recorded(data)
    loaded = load_model("ca3-cam", {"cue_size": c, "content_size": m})
    protocol = loaded.family.module.PROTOCOL
    operations = protocol.parse(json.loads((PROTOCOLS / protocol_file).read_text()), loaded.arguments)
    stimulus = protocol.stimulus(operations, loaded.arguments)["IN"]
    assert stimulus == [[float(t) for t in train] for train in expected["IN"]]
    # The decoder, fed the spikes SpiNNaker produced, finds an ideal memory.
    hardware = SpikeRecord(
        1.0,
        RECORDINGS[recording],
        "spinnaker hardware",
        {"OUT": [[float(t) for t in train] for train in expected["OUT"]]},
    )
    assert_ideal(protocol.decode(operations, hardware, loaded.arguments))


def test_testbench_generator_gives_the_exp2_input(cam_recordings):
    reference = json.loads((cam_recordings / "exp2_input_spikes.json").read_text())
    operations = paper_testbench(5, 10)
    assert operations == json.loads((PROTOCOLS / "ca3-cam-exp2-testbench.json").read_text())
    loaded = load_model("ca3-cam", {"cue_size": 5, "content_size": 10})
    protocol = loaded.family.module.PROTOCOL
    stimulus = protocol.stimulus(protocol.parse(operations, loaded.arguments), loaded.arguments)["IN"]
    assert stimulus == [[float(t) for t in train] for train in reference["cue"] + reference["cont"]]


def test_exp1_decodes_forgetting():
    answers = cam_run(5, 10, json.loads((PROTOCOLS / "ca3-cam-exp1.json").read_text()))
    assert_ideal(answers)
    relearn = answers["operations"][6]
    assert relearn["answer"]["forgotten"] == [5, 6] and answers["operations"][8]["answer"]["cues"] == [4]


@pytest.mark.parametrize(
    "cue_size, content_size", [(5, 6), (5, 10), (5, 32), (16, 6), (16, 16), (16, 32), (64, 6), (64, 32)]
)
def test_paper_testbench_decodes_like_an_ideal_memory(cue_size, content_size):
    answers = cam_run(cue_size, content_size, paper_testbench(cue_size, content_size))
    assert_ideal(answers)
    counts = answers["summary"]["by_type"]
    assert counts["learn"]["operations"] == 3 * cue_size and counts["recall_content"]["operations"] == 3 * content_size


@pytest.mark.parametrize("cue_size, content_size", [(5, 10), (4, 6), (16, 8), (64, 32)])
def test_dg_variant_decodes_the_testbench_through_its_binary_cue(cue_size, content_size):
    answers = cam_run(
        cue_size,
        content_size,
        paper_testbench(cue_size, content_size, with_recall_by_content=False),
        model="hippocampus-dg-ca3-ca1",
    )
    assert_ideal(answers)
    assert answers["summary"]["by_type"]["learn"]["operations"] == 3 * cue_size


def test_dg_variant_runs_the_authors_test_at_minimum_spacing():
    operations = [
        {"op": "learn", "cue": 4, "content": [7, 8, 9], "t": 0},
        {"op": "learn", "cue": 3, "content": [6, 7, 8], "t": 7},
        {"op": "learn", "cue": 2, "content": [5, 6, 7], "t": 14},
        {"op": "recall_cue", "cue": 4, "t": 21},
        {"op": "recall_cue", "cue": 3, "t": 26},
        {"op": "learn", "cue": 3, "content": [0, 1, 5, 6, 7], "t": 31},
        {"op": "learn", "cue": 2, "content": [0, 1, 8, 9], "t": 38},
        {"op": "recall_cue", "cue": 3, "t": 45},
        {"op": "recall_cue", "cue": 2, "t": 50},
    ]
    answers = cam_run(5, 10, operations, model="hippocampus-dg-ca3-ca1")
    assert_ideal(answers)
    assert answers["operations"][6]["answer"]["forgotten"] == [5, 6, 7]


def test_dg_variant_network_shape():
    network = load_model("hippocampus-dg-ca3-ca1", {"cue_size": 4, "content_size": 6}).network
    assert network.size_of("IN") == 3 + 6 and network.size_of("OUT") == 3 + 6 and network.size_of("CA1") == 3
    excitation = network.connections("IN(cue)->DG")
    # Code k = cell k-1 gets 3 nA in all from its set bits: code 3 = bits 0 and 1, 1.5 nA each.
    for cell in range(4):
        assert excitation.weight[excitation.post == cell].sum() == pytest.approx(3.0)
    assert sorted(excitation.pre[excitation.post == 2].tolist()) == [0, 1]


PROTOCOL_ERRORS = [
    (
        [{"op": "learn", "cue": 1, "content": [2], "t": 0}, {"op": "recall_cue", "cue": 1, "t": 6}],
        "protocol operation 0 (learn at t=0 ms), field 't'",
        "needs 7 ms after a learn",
    ),
    (
        [{"op": "recall_cue", "cue": 1, "t": 0}, {"op": "recall_content", "content": [1], "t": 5}],
        "protocol operation 0 (recall_cue at t=0 ms)",
        "needs 6 ms after a recall_cue",
    ),
    ([{"op": "learn", "cue": 5, "content": [2], "t": 0}], "field 'cue'", "cue_size is 5"),
    ([{"op": "learn", "cue": 1, "content": [10], "t": 0}], "field 'content'", "content_size is 10"),
    ([{"op": "learn", "cue": 1, "content": [], "t": 0}], "field 'content'", "cannot store an empty content"),
    (
        [{"op": "forget", "cue": 1, "t": 0}],
        "protocol operation 0, field 'op'",
        "runs learn, recall_cue, recall_content",
    ),
    ([{"op": "recall_cue", "t": 0}], "field 'cue'", "is required"),
    (
        [{"op": "recall_cue", "cue": 1, "t": 10}, {"op": "recall_cue", "cue": 1, "t": 2}],
        "operation 0",
        "comes -8 ms later",
    ),
    ({"op": "learn"}, "protocol", "expected a JSON list"),
]


@pytest.mark.parametrize("operations, where, words", PROTOCOL_ERRORS)
def test_protocols_that_break_the_timing_or_ranges_are_rejected(tmp_path, operations, where, words):
    path = tmp_path / "ops.json"
    path.write_text(json.dumps(operations))
    result = CliRunner().invoke(main, ["run", "ca3-cam", "--protocol", str(path), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert where in result.output and words in result.output and result.output.count("\n") == 1


def test_dg_variant_rejects_recall_by_content():
    loaded = load_model("hippocampus-dg-ca3-ca1")
    with pytest.raises(ValidationError, match="runs learn, recall_cue; got 'recall_content'"):
        loaded.family.module.PROTOCOL.parse([{"op": "recall_content", "content": [1], "t": 0}], loaded.arguments)


def test_decoder_reports_wrong_missing_and_stray_spikes():
    loaded = load_model("ca3-cam", {"cue_size": 3, "content_size": 4})
    protocol = loaded.family.module.PROTOCOL
    operations = protocol.parse(
        [
            {"op": "learn", "cue": 1, "content": [0, 2], "t": 0},
            {"op": "recall_cue", "cue": 1, "t": 10},
            {"op": "recall_content", "content": [2], "t": 20},
        ],
        loaded.arguments,
    )
    out = [[] for _ in range(7)]
    for tick in (5, 7):  # learn: cue 1 and bits 0, 2 at t0+5 and t0+7
        for neuron in (1, 3, 5):
            out[neuron].append(float(tick))
    out[1].append(15.0)  # recall by cue: cue at t0+5 ...
    out[3].append(16.0)  # ... but only bit 0 of its content at t0+6
    out[5].append(25.0)  # recall by content: the echo at t0+5
    out[0].append(26.0)  # and a wrong cue at t0+6
    out[6].append(40.0)  # a spike outside every answer window
    answers = protocol.decode(operations, SpikeRecord(1.0, 50.0, "synthetic", {"OUT": out}), loaded.arguments)
    agrees = [item["agrees"] for item in answers["operations"]]
    assert agrees == [True, False, False]
    assert answers["operations"][1]["answer"]["content"] == [0]
    assert answers["operations"][1]["ideal"]["content"] == [0, 2]
    assert answers["operations"][2]["answer"]["cues"] == [0] and answers["operations"][2]["ideal"]["cues"] == [1]
    assert answers["unexplained_out_spikes"] == [[40, 6]] and not answers["summary"]["all_agree"]
    assert "DIFFERS" in protocol.table(answers)


def test_run_with_protocol_prints_and_writes_answers(tmp_path):
    out = tmp_path / "cam"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "ca3-cam",
            "--param",
            "cue_size=5",
            "--param",
            "content_size=10",
            "--protocol",
            str(PROTOCOLS / "ca3-cam-exp1.json"),
            "--backend",
            "brian2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "agreement with an ideal associative memory: 9/9" in result.output
    assert "learn cue 3 = {1,3,4,8}" in result.output and "forgot {5,6}" in result.output
    answers = json.loads((out / "answers.json").read_text())
    assert answers["summary"]["all_agree"] and len(answers["operations"]) == 9
    assert json.loads((out / "protocol.json").read_text())[6] == {
        "op": "learn",
        "t": 60,
        "cue": 3,
        "content": [1, 3, 4, 8],
    }
    assert json.loads((out / "spikes.json").read_text())["duration_ms"] == 90.0


def test_protocol_needs_a_model_that_takes_one(tmp_path):
    path = tmp_path / "ops.json"
    path.write_text("[]")
    result = CliRunner().invoke(
        main, ["run", "feedforward-poisson", "--protocol", str(path), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "takes no operation protocol" in result.output
