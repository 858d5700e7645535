"""The spyblocks family against sPyBlocks' SpiNNaker rasters: each recorded circuit, driven by its recorded input
rows, gives every recorded block row spike for spike (every neuron, every tick) on each backend."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower
from neurodeploy.catalog import load_model, model_families
from neurodeploy.cli import main
from neurodeploy.errors import ValidationError
from neurodeploy.results import SpikeRecord
from spyblocks_recordings import FILES, RECORDINGS, recorded

FAMILY = model_families()["spyblocks"].module
FAMILY_FOLDER = model_families()["spyblocks"].path.parent
INPUT_CODES = {"CHANNEL", "Channel (Expected)"}
"""Value rows the scripts compute from the input times alone."""


@pytest.fixture(scope="module", autouse=True)
def recordings():
    if not RECORDINGS.is_dir():
        pytest.skip(f"needs ../shared/external/spyblocks-spinnaker/ (the sPyBlocks rasters): no {RECORDINGS}")


def driven(circuit):
    """The circuit with the recording's input rows as its stimulus, the recording, and the block rows."""
    raster = recorded(circuit)
    inputs, repeated, rows = FAMILY.layout(circuit)
    for label, neuron in repeated.items():  # a source the script prints twice
        assert raster.rows[label] == raster.rows[inputs[neuron]]
    network = load_model("spyblocks", {"circuit": circuit}).network
    assert network.duration == raster.duration_ms  # the script's simtime, the raster's width
    if inputs:
        network = network.with_spike_times({"IN": [[float(t) for t in raster.rows[row]] for row in inputs]})
    return network, raster, rows


def reproduced(spikes, raster, rows):
    """Row label -> (ours, recorded) for every block row that differs in a run's ``spikes``."""
    differing = {}
    for label, neurons in rows.items():
        if isinstance(neurons, FAMILY.Code):
            ours, theirs = neurons.read(spikes), raster.values[label]
        else:
            ours = sorted({int(t) for population, i in neurons for t in spikes.ticks(population)[i]})
            theirs = raster.rows[label]
        if ours != theirs:
            differing[label] = (ours, theirs)
    return differing


def test_every_recording_has_a_circuit_and_every_spike_row_is_compared():
    """Every spike row is an input or a compared block row, and every value row computed from block spikes
    is compared (the others, CHANNEL and Channel (Expected), are the inputs' code)."""
    assert set(FAMILY.CIRCUITS) == set(FILES) and len(FILES) == 24
    for circuit in FAMILY.CIRCUITS:
        _, raster, rows = driven(circuit)
        inputs, repeated, _ = FAMILY.layout(circuit)
        spike_rows = {label for label, neurons in rows.items() if not isinstance(neurons, FAMILY.Code)}
        assert set(raster.rows) == spike_rows | set(inputs) | set(repeated), circuit
        assert set(rows) - spike_rows == set(raster.values) - INPUT_CODES


BACKENDS = {
    "brian2": ("brian2", {}),
    "spinnaker": ("spinnaker", {}),
    "spinnaker-2019": ("spinnaker", {"encoding": "2019"}),  # sPyNNaker8's truncated constants
    "lava": ("lava", {}),
}


@pytest.mark.parametrize(
    "backend", [pytest.param(name, marks=[pytest.mark.slow] if name == "lava" else []) for name in BACKENDS]
)
@pytest.mark.parametrize("circuit", list(FAMILY.CIRCUITS))
def test_the_recorded_raster_is_reproduced_spike_for_spike(circuit, backend):
    network, raster, rows = driven(circuit)
    name, options = BACKENDS[backend]
    result = make_backend(name, **options).run(network, raster.duration_ms)
    assert reproduced(result.spikes, raster, rows) == {}


def test_the_loihi_quantization_aware_reference_keeps_a_membrane_that_forgets_within_a_tick():
    """tau_m 0.1 ms at dt 1 ms decays V by exp(-10) a tick: the 12-bit dv is 4096 and the implemented decay 0,
    which no time constant has; the reference keeps the cells' own tau_m (cm stays 0.1 nF) and still gives
    the recording."""
    network, raster, rows = driven("simple_latch_d")
    reference = lower(network).reference_network()
    cell = reference.populations["gates"].cell
    assert set(cell.tau_m) == set(cell.cm) == {0.1}
    assert reproduced(make_backend("brian2").run(reference, raster.duration_ms).spikes, raster, rows) == {}


@pytest.mark.slow
@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
def test_a_circuit_deploys_and_the_target_gives_the_recording(target, tmp_path):
    network, raster, rows = driven("simple_latch_d")
    inputs, _, _ = FAMILY.layout("simple_latch_d")
    stimulus = tmp_path / "stimulus.json"
    stimulus.write_text(json.dumps({"IN": [[float(t) for t in raster.rows[row]] for row in inputs]}))
    out = tmp_path / "deploy"
    arguments = ["deploy", "spyblocks", "--param", "circuit=simple_latch_d", "--target", target]
    arguments += ["--stimulus", str(stimulus), "--duration", "100", "--out", str(out)]
    result = CliRunner().invoke(main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "deploy.json").read_text())
    assert report["passed"] and report["per_target"][target]["errors"] == []
    compiled = json.loads((out / target / "compile" / "compile.json").read_text())
    assert compiled["quantization"] and [f for f in compiled["findings"] if f["level"] == "error"] == []
    spikes = SpikeRecord.from_dict(json.loads((out / target / "target" / "spikes.json").read_text()))
    assert reproduced(spikes, raster, rows) == {}


def test_an_unknown_circuit_is_refused_naming_the_known_ones():
    with pytest.raises(ValidationError, match="simple_and"):
        load_model("spyblocks", {"circuit": "simple_nand"})


def protocol_run(circuit, operations, backend="brian2", stimulated=True):
    loaded = load_model("spyblocks", {"circuit": circuit})
    parsed = FAMILY.PROTOCOL.parse(operations, loaded.arguments)
    network = loaded.network
    if stimulated:
        network = network.with_spike_times(FAMILY.PROTOCOL.stimulus(parsed, loaded.arguments))
    result = make_backend(backend).run(network, FAMILY.PROTOCOL.duration_ms(parsed))
    return FAMILY.PROTOCOL.decode(parsed, result.spikes, loaded.arguments)


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_the_shipped_writes_are_read_back_as_written(backend):
    operations = json.loads((FAMILY_FOLDER / "protocols" / "spyblocks-memory-writes.json").read_text())
    answers = protocol_run("memory_stress_1_mini", operations, backend)
    assert answers["summary"] == {"operations": 7, "agree": 7}
    assert [item["read_at"] - item["t"] for item in answers["operations"]] == [4] * 7


def test_the_earlier_memory_answers_a_tick_later_and_the_decoder_sees_a_memory_that_did_not_store():
    writes = [{"op": "write", "t": 2, "address": 6, "data": [0, 1]}, {"op": "write", "t": 9, "address": 6, "data": []}]
    answers = protocol_run("simple_memory", writes)
    assert [(item["read_at"], item["read"], item["agrees"]) for item in answers["operations"]] == [
        (7, [0, 1], True),
        (14, [], True),
    ]
    unstimulated = protocol_run("simple_memory", writes, stimulated=False)
    assert [item["agrees"] for item in unstimulated["operations"]] == [False, True]


@pytest.mark.parametrize(
    ("circuit", "write", "message"),
    [
        ("simple_and", {"op": "write", "t": 1, "address": 1, "data": []}, "has no operations"),
        ("memory_stress_1_mini", {"op": "write", "t": 1, "address": 4, "data": []}, "address"),
        ("memory_stress_1_mini", {"op": "write", "t": 1, "address": 0, "data": []}, "address"),
        ("simple_memory", {"op": "write", "t": 1, "address": 1, "data": [2]}, "bit 2 is out of range"),
        ("memory_stress_1_mini", {"op": "read", "t": 1, "address": 1, "data": []}, "expected 'write'"),
    ],
)
def test_writes_the_memory_cannot_take_are_refused(circuit, write, message):
    with pytest.raises(ValidationError, match=message):
        FAMILY.PROTOCOL.parse([write], {"circuit": circuit})


@pytest.mark.parametrize("backend", ["brian2", "spinnaker", pytest.param("lava", marks=pytest.mark.slow)])
def test_a_memory_of_any_size_stores_writes_every_tick(backend):
    """Sixty writes, one per tick, to random words of a 5-word, 6-bit memory (the stress tests' pace)."""
    rng = np.random.default_rng(7)
    writes = [
        {
            "op": "write",
            "t": t,
            "address": int(rng.integers(1, 6)),
            "data": np.flatnonzero(rng.random(6) < 0.5).tolist(),
        }
        for t in range(1, 61)
    ]
    loaded = load_model("spyblocks", {"circuit": "memory", "words": 5, "width": 6})
    parsed = FAMILY.PROTOCOL.parse(writes, loaded.arguments)
    network = loaded.network.with_spike_times(FAMILY.PROTOCOL.stimulus(parsed, loaded.arguments))
    result = make_backend(backend).run(network, FAMILY.PROTOCOL.duration_ms(parsed))
    answers = FAMILY.PROTOCOL.decode(parsed, result.spikes, loaded.arguments)
    assert answers["summary"] == {"operations": 60, "agree": 60}


def test_sizes_are_only_for_the_generic_memory():
    with pytest.raises(ValidationError, match="sizes only circuit 'memory'"):
        load_model("spyblocks", {"circuit": "simple_memory", "width": 4})
