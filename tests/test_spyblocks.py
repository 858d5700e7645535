"""The spyblocks family against sPyBlocks' SpiNNaker rasters: each recorded circuit, driven by its recorded input
rows, gives every recorded block row spike for spike (every neuron, every tick) on each backend."""

import pytest

from neurodeploy.backends import make_backend
from neurodeploy.catalog import load_model, model_families
from neurodeploy.errors import ValidationError
from spyblocks_recordings import FILES, RECORDINGS, recorded

FAMILY = model_families()["spyblocks"].module


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
    if inputs:
        network = network.with_spike_times({"IN": [[float(t) for t in raster.rows[row]] for row in inputs]})
    return network, raster, rows


def coded(result, code):
    """A value row as the test script computes it from the spikes: ms -> text."""
    spiking = {}
    for (population, i), weight in zip(code.neurons, code.weights):
        for tick in result.spikes.ticks(population)[i]:
            spiking.setdefault(int(tick), []).append(weight)
    return {tick: hex(sum(weights)) if code.hex else str(max(weights)) for tick, weights in spiking.items()}


def reproduced(result, raster, rows):
    """Row label -> (ours, recorded) for every block row that differs."""
    differing = {}
    for label, neurons in rows.items():
        if isinstance(neurons, FAMILY.Code):
            ours, theirs = coded(result, neurons), raster.values[label]
        else:
            ours = sorted({int(t) for population, i in neurons for t in result.spikes.ticks(population)[i]})
            theirs = raster.rows[label]
        if ours != theirs:
            differing[label] = (ours, theirs)
    return differing


def test_every_recording_has_a_circuit_and_every_spike_row_is_compared():
    """Every spike row is an input or a compared block row; of the value rows, those computed from block
    spikes are compared (the others are the inputs' code or repeat spike rows: see spyblocks_recordings)."""
    assert set(FAMILY.CIRCUITS) == set(FILES) and len(FILES) == 24
    for circuit in FAMILY.CIRCUITS:
        _, raster, rows = driven(circuit)
        inputs, repeated, _ = FAMILY.layout(circuit)
        spike_rows = {label for label, neurons in rows.items() if not isinstance(neurons, FAMILY.Code)}
        assert set(raster.rows) == spike_rows | set(inputs) | set(repeated), circuit
        assert set(rows) - spike_rows <= set(raster.values), circuit


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
@pytest.mark.parametrize("circuit", list(FAMILY.CIRCUITS))
def test_the_recorded_raster_is_reproduced_spike_for_spike(circuit, backend):
    network, raster, rows = driven(circuit)
    result = make_backend(backend).run(network, raster.duration_ms)
    assert reproduced(result, raster, rows) == {}


def test_an_unknown_circuit_is_refused_naming_the_known_ones():
    with pytest.raises(ValidationError, match="simple_and"):
        load_model("spyblocks", {"circuit": "simple_nand"})
