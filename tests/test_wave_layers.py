"""wave-layers: the sheet's wiring and the measures against hand-derived values; waves that noise starts
in the first sheet and that carry into the second, against the sheet without lateral wiring; receptive
fields that grow local against the no-STDP control; on a reduced sheet the SpiNNaker emulation and
Lava spike for spike and weight for weight as their quantization-aware references; compile and deploy reports."""

import json
import warnings

import numpy as np
import pytest

from neurodeploy.backends import make_backend
from neurodeploy.catalog import load_model, parse_parameters
from neurodeploy.errors import ValidationError
from neurodeploy.models import wave_layers as model
from tests.test_cli import invoke

REDUCED = {"n": 8, "r_e": 1.5, "r_i": 3.0, "duration_ms": 500}


def test_lateral_wiring_is_a_disc_inside_an_annulus():
    # Offsets (dy, dx) with d <= 1.5: the 8 neighbours. In (1.5, 3]: d^2 = 4 (4 offsets), 5 (8), 8 (4), 9 (4).
    wiring = model.lateral_connections(8, 1.5, 3.0, periodic=True)
    for kind, each in (("excitatory", 8), ("inhibitory", 20)):
        pre, post = wiring[kind]
        assert np.all(np.bincount(post, minlength=64) == each)
        assert not np.any(pre == post)
    pre, post = model.lateral_connections(8, 1.5, 3.0, periodic=False)["excitatory"]
    assert np.sum(post == 0) == 3  # a corner of the bounded sheet: right, below, diagonal
    assert sorted(pre[post == 0].tolist()) == [1, 8, 9]


def test_locality_and_pooling_radius_of_hand_made_fields():
    n = 8
    point = np.zeros((1, n, n))
    point[0, 3, 4] = 1.0
    assert model.locality(point, 0.5, True)[0] == 1.0
    assert model.pooling_radius(point, True)[0] == 0.0
    assert np.allclose(model.centres(point, True), [[3, 4]])
    across_the_edge = np.zeros((1, n, n))
    across_the_edge[0, 7, 2] = across_the_edge[0, 0, 2] = 1.0  # neighbours on the torus: centre 7.5
    assert np.allclose(model.centres(across_the_edge, True), [[7.5, 2]])
    assert model.locality(across_the_edge, 0.6, True)[0] == 1.0
    # Four places around (2, 2) at distance 1, each weight 1, on a background of 0.1 everywhere: the
    # background is the median, so the pooled patch is the cross, radius 1.
    cross = np.full((1, n, n), 0.1)
    for row, col in ((1, 2), (3, 2), (2, 1), (2, 3)):
        cross[0, row, col] = 1.0
    assert model.pooling_radius(cross, True)[0] == pytest.approx(1.0)
    # The cross's share within 1 of (2, 2): (4 + 0.1) / (4 + 60 * 0.1).
    assert model.locality(cross, 1.0, True)[0] == pytest.approx(4.1 / 10.0)
    assert model.chance_locality(n, 1.0, True) == 5 / 64
    assert model.coverage(np.array([[0.0, 0.0]]), n, 1.0, True) == 5 / 64


def test_chance_locality_of_a_bounded_sheet_is_around_its_middle():
    """A uniform field on a bounded 8 x 8 sheet has its centre of mass at (3.5, 3.5), between four places:
    within 1 of it those four (at 0.71), within 1.6 also the eight at 1.58; on the torus any place is the
    centre, with itself and its four neighbours within 1."""
    assert model.chance_locality(8, 1.0, False) == 4 / 64
    assert model.chance_locality(8, 1.6, False) == 12 / 64
    assert model.chance_locality(8, 1.0, True) == 5 / 64
    uniform = np.ones((1, 8, 8))
    assert np.allclose(model.centres(uniform, False), [[3.5, 3.5]])
    assert model.locality(uniform, 1.6, False)[0] == pytest.approx(12 / 64)


@pytest.mark.parametrize("periodic", [False, True])
def test_a_field_without_weight_has_no_centre_and_pools_nothing(periodic):
    """A unit whose weights all went to zero: its centre is NaN (said, not a division by zero), its locality
    and pooling radius 0, and coverage counts only the units that have a centre."""
    fields = np.zeros((2, 8, 8))
    fields[1, 3, 4] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        centre = model.centres(fields, periodic)
        assert np.isnan(centre[0]).all() and np.allclose(centre[1], [3, 4])
        assert model.locality(fields, 1.0, periodic).tolist() == [0.0, 1.0]
        assert model.pooling_radius(fields, periodic).tolist() == [0.0, 0.0]
        assert model.coverage(centre, 8, 1.0, periodic) == 5 / 64


def test_waves_are_groups_of_spikes_near_in_place_and_time():
    n = 8
    trains = [[] for _ in range(n * n)]
    for step, col in enumerate((0, 1, 2, 3)):  # a front moving one place per tick along row 0
        trains[col].append(10 + step)
    trains[4 * n + 4].append(11)  # far away: a wave of its own
    trains[0].append(30)  # the same neuron later than the gap: another wave
    found = model.waves([np.array(t) for t in trains], n, True, link_radius=1.5, gap=2)
    order = np.argsort(found["start"] * 100 + found["size"])
    assert found["size"][order].tolist() == [4, 1, 1]
    assert found["start"][order].tolist() == [10, 11, 30]
    assert found["duration"][order].tolist() == [4, 1, 1]
    assert found["speed"][order].tolist() == [1.0, 0.0, 0.0]
    silent = model.waves([np.array([], dtype=int)] * (n * n), n, True, link_radius=1.5)
    assert all(len(value) == 0 for value in silent.values()) and set(silent) == set(found)


def test_the_network_as_described():
    network = load_model("wave-layers", {**REDUCED, "layers": 3, "noise_rate": 100.0}).network
    assert set(network.populations) == {"L1", "L2", "L3"}
    rates = [len(t) / 0.5 for t in network.spike_sources["N1"].spike_times]
    assert np.mean(rates) == pytest.approx(100.0, rel=0.1)
    assert set(network.spike_sources) == {"N1", "N2", "N3"}
    for k in (2, 3):
        projection = network.projections[f"L{k - 1}->L{k}"]
        assert len(network.connections(projection.label).pre) == 64 * 64
        assert projection.plasticity.w_max == pytest.approx(0.6) and projection.plasticity.A_plus == pytest.approx(0.15)
        assert 0 <= projection.weight.min() and projection.weight.max() <= 0.3
        assert network.projections[f"L{k}->L{k}:inh"].receptor == "inhibitory"
    control = load_model("wave-layers", {**REDUCED, "stdp": False, "lateral": False, "noise_rate_above": 0}).network
    assert control.projections["L1->L2"].plasticity is None
    assert not any(":" in label for label in control.projections) and "N2" not in control.spike_sources
    assert np.array_equal(control.projections["L1->L2"].weight, network.projections["L1->L2"].weight)
    with pytest.raises(ValidationError, match="inhibition radius"):
        load_model("wave-layers", {"r_e": 3.0, "r_i": 2.0})


def test_each_sheet_has_the_size_asked_and_its_own_lateral_wiring():
    """Sheets of 5, 4 and 3 (``--param sizes=[5, 4, 3]``): on a torus with r_e 1, r_i 2 every neuron
    excites its 4 neighbours at distance 1 and inhibits those at sqrt(2) (4) and 2: on 5 x 5 the 4 at
    (0, +-2) and (+-2, 0); on 4 x 4 the offsets +2 and -2 are one neuron, so 2; on 3 x 3 none."""
    parameters = parse_parameters(["sizes=[5, 4, 3]", "layers=3", "r_e=1", "r_i=2", "duration_ms=50"])
    network = load_model("wave-layers", parameters).network
    sides = {"L1": 5, "L2": 4, "L3": 3}
    for label, side in sides.items():
        assert network.populations[label].size == side * side
        assert len(network.spike_sources[f"N{label[1:]}"].spike_times) == side * side
        expected = model.lateral_connections(side, 1.0, 2.0, periodic=True)
        for kind, receptor, each in (("exc", "excitatory", 4), ("inh", "inhibitory", 4 + {5: 4, 4: 2, 3: 0}[side])):
            connections = network.connections(f"{label}->{label}:{kind}")
            assert np.array_equal(connections.pre, expected[receptor][0])
            assert np.array_equal(connections.post, expected[receptor][1])
            assert np.all(np.bincount(connections.post, minlength=side * side) == each)
    for below, above in (("L1", "L2"), ("L2", "L3")):
        connections = network.connections(f"{below}->{above}")
        count = sides[below] ** 2 * sides[above] ** 2
        assert len(connections.pre) == count == len(network.projections[f"{below}->{above}"].weight)
        assert len(set(zip(connections.pre.tolist(), connections.post.tolist()))) == count  # every pair once
    # The fields of L2's 4 x 4 units over the 5 x 5 sheet below hold the weights where the synapses put them.
    connections = network.connections("L1->L2")
    weight = network.projections["L1->L2"].weight
    field = model.receptive_fields(connections.pre, connections.post, weight, 5, 4)
    assert field.shape == (16, 5, 5)
    assert np.array_equal(field[connections.post, connections.pre // 5, connections.pre % 5], weight)


def test_sheet_sizes_one_per_layer():
    assert model.sheet_sizes(3, 8, None, "here") == model.sheet_sizes(3, 8, [], "here") == [8, 8, 8]
    equal = load_model("wave-layers", {**REDUCED, "sizes": [8, 8]}).network
    default = load_model("wave-layers", REDUCED).network
    assert np.array_equal(equal.projections["L1->L2"].weight, default.projections["L1->L2"].weight)
    with pytest.raises(ValidationError, match="2 sheet sizes for 3 layers") as error:
        load_model("wave-layers", {**REDUCED, "layers": 3, "sizes": [8, 6]})
    assert error.value.field == "sizes"
    with pytest.raises(ValidationError, match="list of sheet sizes"):
        load_model("wave-layers", {**REDUCED, "sizes": "8,6"})
    with pytest.raises(ValidationError, match=">= 3"):
        load_model("wave-layers", {**REDUCED, "sizes": [8, 2]})
    # Refused for the sheets asked, not for n: a sheet of a million neurons above one of 64 (the largest
    # sheet's distances alone, 1e12 pairs).
    with pytest.raises(ValidationError, match="memory limit") as error:
        load_model("wave-layers", {**REDUCED, "sizes": [8, 1000]})
    assert error.value.field == "sizes"


def test_measures_of_fields_over_a_sheet_of_another_size():
    """The 3 x 3 units of a sheet above a 6 x 6 one. Unit 4 has weight 1 at (2, 3) and (2, 4): centre
    (2, 3.5), both inputs 0.5 from it. Unit 8 has weight 1 at (5, 0) and (0, 0): neighbours across the edge
    of the torus, centre (5.5, 0); on a bounded sheet (2.5, 0), 2.5 from both. Unit 0 weighs 0.5 everywhere:
    on the bounded sheet its centre is (2.5, 2.5), with the four middle places 0.71 from it."""
    pre, post = np.divmod(np.arange(36 * 9), 9)  # every pair, pre-major
    weight = np.zeros(36 * 9)
    for unit, places, value in ((4, [(2, 3), (2, 4)], 1.0), (8, [(5, 0), (0, 0)], 1.0)):
        for row, col in places:
            weight[(row * 6 + col) * 9 + unit] = value
    weight[post == 0] = 0.5
    field = model.receptive_fields(pre, post, weight, 6, 3)
    assert field.shape == (9, 6, 6) and field[4, 2, 3] == field[8, 5, 0] == 1.0
    centre = model.centres(field, True)
    assert np.allclose(centre[[4, 8]], [[2, 3.5], [5.5, 0]])
    assert np.isnan(centre[[1, 2, 3, 5, 6, 7]]).all()
    assert model.locality(field, 0.6, True)[[4, 8]].tolist() == [1.0, 1.0]
    assert model.locality(field, 0.4, True)[4] == 0.0
    assert np.allclose(model.centres(field, False)[[0, 8]], [[2.5, 2.5], [2.5, 0]])
    assert model.locality(field, 0.6, False)[8] == 0.0
    assert model.locality(field, 1.0, False)[0] == pytest.approx(4 / 36) == model.chance_locality(6, 1.0, False)
    assert model.chance_locality(6, 1.0, True) == 5 / 36
    assert model.pooling_radius(field, True)[[4, 8]] == pytest.approx([0.5, 0.5])
    assert model.pooled_area(field, 1.0).tolist() == [0, 0, 0, 0, 2, 0, 0, 0, 2]
    # Within 1.2 of each centre: the two inputs (0.5) and the four beside them (sqrt(1.25)); 12 of 36 places.
    assert model.coverage(centre[[4, 8]], 6, 1.2, True) == 12 / 36
    assert model.coverage(centre[[4, 8]], 6, 1.0, True) == 4 / 36


def wave_run(duration_ms: float, **parameters):
    network = load_model("wave-layers", {"duration_ms": duration_ms, **parameters}).network
    return network, make_backend("brian2").run(network, duration_ms)


def test_waves_emerge_from_noise_and_carry_into_the_second_sheet():
    duration = 2000
    _, result = wave_run(duration)
    _, control = wave_run(duration, lateral=False)
    n, r_e = 16, 2.0
    found = {k: model.waves(result.spikes.ticks(k), n, True, r_e) for k in ("L1", "L2")}
    alone = model.waves(control.spikes.ticks("L1"), n, True, r_e)
    # Waves: groups of many neurons, lasting several ticks and moving. The same noise without the
    # lateral wiring gives groups of chance coincidences only.
    assert found["L1"]["size"].mean() > 3 * alone["size"].mean()
    assert np.sum(found["L1"]["size"] >= 8) > 20 * max(1, np.sum(alone["size"] >= 8))
    big = found["L1"]["size"] >= 8
    assert np.median(found["L1"]["duration"][big]) >= 3 and np.median(found["L1"]["speed"][big]) > 0
    assert np.sum(found["L2"]["size"] >= 8) > 20
    # The second sheet follows the first a few ticks later; shifted by a third of the run it does not.
    lower, upper = (model.population_activity(result.spikes.ticks(k), duration) for k in ("L1", "L2"))
    follows = model.lagged_correlation(lower, upper, range(0, 16))
    shuffled = model.lagged_correlation(lower, np.roll(upper, duration // 3), range(0, 16))
    assert 1 <= np.argmax(follows) <= 10
    assert follows.max() > 5 * np.abs(shuffled).max()


@pytest.mark.slow
def test_receptive_fields_grow_local_beyond_the_no_stdp_control():
    duration = 20000
    network, grown = wave_run(duration)
    initial = network.projections["L1->L2"].weight
    w = grown.weights["L1->L2"]
    fields = {
        "grown": model.receptive_fields(w["pre"], w["post"], w["weight"], 16),
        "control": model.receptive_fields(w["pre"], w["post"], initial, 16),  # no STDP: the weights stay
    }
    locality = {name: model.locality(field, 3.0, True) for name, field in fields.items()}
    chance = model.chance_locality(16, 3.0, True)
    assert abs(locality["control"].mean() - chance) < 0.02
    assert locality["grown"].mean() > locality["control"].mean() + 0.05
    assert np.mean(locality["grown"] > np.quantile(locality["control"], 0.95)) > 0.5
    # The centres spread over the sheet rather than piling up: most places lie near some unit's centre.
    assert model.coverage(model.centres(fields["grown"], True), 16, 3.0, True) > 0.9
    # Heterosynaptic depression makes the fields compact: the same growth without it (the pair rule's
    # depression bias alone) leaves each unit more strong inputs and a less local field.
    _, broad = wave_run(duration, heterosynaptic=0.0)
    w = broad.weights["L1->L2"]
    without = model.receptive_fields(w["pre"], w["post"], w["weight"], 16)
    w_max = network.projections["L1->L2"].plasticity.w_max
    pooled = {
        name: model.pooled_area(field, w_max / 2).mean()
        for name, field in (("with", fields["grown"]), ("without", without))
    }
    assert 0 < pooled["with"] < 0.75 * pooled["without"]
    assert locality["grown"].mean() > model.locality(without, 3.0, True).mean()


def spikes_of(result, network):
    return {k: [t.tolist() for t in result.spikes.ticks(k)] for k in network.populations}


@pytest.mark.slow
@pytest.mark.parametrize("sizes", [None, [8, 6]], ids=["equal sheets", "sheets of 8 and 6"])
def test_on_the_chips_numbers_the_reference_is_the_emulation(sizes):
    from neurodeploy.backends.spinnaker.graph import lower
    from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling

    network = load_model("wave-layers", {**REDUCED, "sizes": sizes}).network
    graph = lower(network)
    reference = make_backend("brian2").run(quantization_aware(network, graph, ring_buffer_scaling(graph)), 500.0)
    assert network.projections["L1->L2"].plasticity.heterosynaptic > 0  # the competition is part of the rule run
    emulation = make_backend("spinnaker").run(network, 500.0)
    assert sum(map(len, reference.spikes.ticks("L2"))) > min(20, network.size_of("L2") / 4)
    assert spikes_of(emulation, network) == spikes_of(reference, network)
    grown, initial = reference.weights["L1->L2"]["weight"], network.projections["L1->L2"].weight
    assert np.abs(grown - initial).max() > 0.1  # the weights did grow
    for key in ("pre", "post", "weight"):
        assert np.array_equal(emulation.weights["L1->L2"][key], reference.weights["L1->L2"][key])


@pytest.mark.slow
def test_on_lavas_numbers_the_reference_is_lava():
    from neurodeploy.backends.lava import lower

    network = load_model("wave-layers", REDUCED).network
    assert network.projections["L1->L2"].plasticity.heterosynaptic > 0
    reference = make_backend("brian2").run(lower(network).reference_network(), 500.0)
    lava = make_backend("lava").run(network, 500.0)
    assert sum(map(len, reference.spikes.ticks("L2"))) > 20
    assert spikes_of(lava, network) == spikes_of(reference, network)
    grown, initial = reference.weights["L1->L2"]["weight"], network.projections["L1->L2"].weight
    assert np.abs(grown - initial).max() > 0.1
    for key in ("pre", "post"):
        assert np.array_equal(lava.weights["L1->L2"][key], reference.weights["L1->L2"][key])
    assert np.allclose(lava.weights["L1->L2"]["weight"], reference.weights["L1->L2"]["weight"], rtol=0, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
def test_compiles_with_design_rule_and_quantization_reports(tmp_path, target):
    out = tmp_path / target
    board = ["--param", "heterosynaptic=0"] if target == "spinn5" else []  # sPyNNaker has no such rule
    result = invoke(
        "compile",
        "wave-layers",
        "--param",
        "n=8",
        *board,
        "--duration",
        "500",
        "--target",
        target,
        "--no-map",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "compile.json").read_text())
    assert report["target"] == target
    assert not [f for f in report["findings"] if f["level"] == "error"]
    # The random initial weights below the chip's resolution are named (the plastic projection's only loss).
    assert {f["subject"] for f in report["findings"]} == {"projection 'L1->L2'"}
    quantized = report["quantization"].get("projections", report["quantization"])
    assert {"L1->L2", "L1->L1:exc", "L2->L2:inh"} <= set(quantized)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
def test_deploys_as_its_quantization_aware_reference(tmp_path, target):
    result = invoke(
        "deploy",
        "wave-layers",
        "--param",
        "n=8",
        "--param",
        "r_e=1.5",
        "--param",
        "r_i=3",
        *(["--param", "heterosynaptic=0"] if target == "spinn5" else []),
        "--duration",
        "500",
        "--target",
        target,
        "--out",
        tmp_path / target,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / target / "deploy.json").read_text())
    correctness = next(item for item in summary["comparisons"] if item["kind"] == "correctness")
    assert correctness["spikes"]["overall"]["same_tick_fraction"] == 1.0 and summary["passed"]
