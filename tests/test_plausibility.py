"""Values that are legal but almost surely a unit mistake are warned of, naming the object, the field and
the unit they were likely written in; the same values written in their right unit are not; nothing shipped
trips them. Spikes of a model's own inputs after its duration are warned of; a stimulus's are refused."""

import json

import nir
import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from neurodeploy.catalog import load_model, model_families
from neurodeploy.cli import main
from neurodeploy.pipeline import unsent_spikes
from test_nir import graph_file, lif


def network(cell_type="IF_curr_exp", parameters=None, initial_values=None, weight=1.0, size=2):
    net = nd.Network("n", duration=20.0)
    net.spike_source("S", [[1.0]] * size)
    net.population("P", size, cell_type, parameters or {}, initial_values or {})
    net.project("S", "P", nd.OneToOne(), weight=weight)
    net.record("P")
    return net


@pytest.mark.parametrize(
    "cell_type, parameters, initial_values, field, shown, likely",
    [
        ("IF_curr_exp", {"cm": 250}, {}, "parameters.cm", "250 nF", "picofarads"),
        ("IF_curr_exp", {"cm": 2.5e-10}, {}, "parameters.cm", "2.5e-10 nF", "farads"),
        ("IF_curr_exp", {"v_thresh": -0.05}, {}, "parameters.v_thresh", "-0.05 mV", "volts"),
        ("IF_curr_exp", {"v_rest": -0.065, "v_reset": -65.0}, {"v": -65.0}, "parameters.v_rest", "-0.065 mV", "volts"),
        ("IF_curr_exp", {}, {"v": -0.06}, "initial_values.v", "-0.06 mV", "volts"),
        ("IF_curr_exp", {"tau_m": 0.02}, {}, "parameters.tau_m", "0.02 ms", "seconds"),
        ("IF_curr_exp", {"tau_syn_E": 0.005}, {}, "parameters.tau_syn_E", "0.005 ms", "seconds"),
        ("IF_curr_exp", {"tau_refrac": 0.002}, {}, "parameters.tau_refrac", "0.002 ms", "seconds"),
        ("IF_curr_exp", {"i_offset": -2000}, {}, "parameters.i_offset", "-2000 nA", "picoamperes"),
        ("IF_cond_exp", {"e_rev_I": -0.07}, {}, "parameters.e_rev_I", "-0.07 mV", "volts"),
        ("Izhikevich", {"c": -0.065}, {}, "parameters.c", "-0.065 mV", "volts"),
        ("Izhikevich", {"i_offset": 5000}, {}, "parameters.i_offset", "5000 nA", "picoamperes"),
    ],
)
def test_a_parameter_in_the_wrong_unit_is_warned_of_naming_its_field_and_the_likely_unit(
    cell_type, parameters, initial_values, field, shown, likely
):
    warnings = network(cell_type, parameters, initial_values).implausible_values()
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"population 'P', field '{field}': {shown} is legal but unusual: written in {likely}")


def test_one_value_per_neuron_says_how_many_neurons_hold_a_suspect_value():
    warnings = network(parameters={"tau_m": [20.0, 0.02, 0.01]}, size=3).implausible_values()
    assert warnings == [
        "population 'P', field 'parameters.tau_m': 0.02 ms (2 of 3 neurons) is legal but unusual: written in "
        "seconds (0.02 s is 20 ms)?"
    ]


@pytest.mark.parametrize(
    "cell_type, weight, shown, likely",
    [
        ("IF_curr_exp", 2000.0, "2000 nA", "picoamperes"),
        ("IF_cond_exp", 500.0, "500 uS", "nanosiemens"),
        ("IF_curr_delta", 3000.0, "3000 nA*ms", "picoampere milliseconds"),
    ],
)
def test_a_weight_in_the_wrong_unit_of_its_post_cell_is_warned_of(cell_type, weight, shown, likely):
    warnings = network(cell_type, weight=weight).implausible_values()
    assert len(warnings) == 1 and warnings[0].startswith(
        f"projection 'S->P', field 'weight': {shown} is legal but unusual: written in {likely}"
    )


def test_the_same_values_written_in_their_unit_are_not_warned_of():
    parameters = {"cm": "250 pF", "v_thresh": "-0.05 V", "v_rest": "-65 mV", "tau_m": "0.02 s", "i_offset": "500 pA"}
    quiet = network(parameters=parameters, initial_values={"v": "-0.065 V"}, weight="2000 pA")
    assert quiet.implausible_values() == []
    assert quiet.populations["P"].cell.cm == 0.25 and quiet.populations["P"].cell.tau_m == 20.0
    assert network("IF_cond_exp", parameters={"e_rev_E": 0.0}, weight="500 nS").implausible_values() == []


def test_nothing_shipped_is_warned_of():
    """The families at their defaults (topographic-map shortened: its Poisson inputs are drawn for the whole
    run), the feed-forward benchmark with each spiking cell type, and the example PyNN script."""
    shortened = {"topographic-map": {"duration_ms": 1000.0}}
    for name in model_families():
        assert load_model(name, shortened.get(name, {})).warnings == [], name
    for cell_type in ("IF_curr_exp", "IF_cond_exp", "IF_curr_delta", "Izhikevich"):
        loaded = load_model("feedforward-poisson", {"cell_type": cell_type, "n_neurons": 5, "duration_ms": 100.0})
        assert loaded.warnings == [], cell_type
    assert load_model("examples/ei_stdp.py").warnings == []


def test_an_imported_nir_graph_is_not_judged_by_a_persons_units(tmp_path):
    """A NIR LIF with r = 1 and tau 0.05 s becomes cm = 50 nF: the graph's own scaling, not a mistake."""
    path = graph_file(
        tmp_path,
        {"input": nir.Input(input_type=np.array([1])), "neuron": lif(0.05, 1.0, 0.0, 1.0)},
        [("input", "neuron")],
    )
    loaded = load_model(str(path), nir_options={"dt": 1.0})
    assert loaded.network.populations["neuron"].cell.cm == 50.0
    assert loaded.warnings == []


def test_unsent_spikes_of_the_models_own_inputs_are_named():
    net = nd.Network("n", duration=20.0)
    net.spike_source("S", [[1.0, 25.0, 30.0], [21.0], []])
    net.spike_source("T", [[19.0]])
    assert unsent_spikes(net, 20.0) == [
        "spike source 'S': 3 spikes at or after the run's end (20 ms) are never sent (the first at 21 ms, neuron 1)"
    ]
    assert unsent_spikes(net, 40.0) == [] and unsent_spikes(net, 20.0, leave_out=("S",)) == []


@pytest.fixture
def late_inputs(tmp_path):
    net = nd.Network("late", duration=20.0)
    net.spike_source("S", [[1.0, 25.0]])
    net.population("P", 1, parameters={"cm": 250})
    net.project("S", "P", nd.OneToOne(), weight=1.0)
    net.record("P")
    return nd.save(net, tmp_path / "late.yaml")


def test_the_command_line_warns_at_validate_and_run_and_a_chosen_shorter_duration_cuts_in_silence(
    tmp_path, late_inputs
):
    runner = CliRunner()
    checked = runner.invoke(main, ["validate", str(late_inputs)])
    assert checked.exit_code == 0
    assert checked.stderr.splitlines() == [
        "warning: population 'P', field 'parameters.cm': 250 nF is legal but unusual: written in picofarads "
        "(250 pF is 0.25 nF: write '250 pF')?",
        "warning: spike source 'S': 1 spikes at or after the run's end (20 ms) are never sent (the first at 25 ms, "
        "neuron 0)",
    ]
    ran = runner.invoke(main, ["run", str(late_inputs), "--out", str(tmp_path / "a")])
    assert ran.exit_code == 0 and ran.stderr.count("warning: ") == 2
    shorter = runner.invoke(main, ["run", str(late_inputs), "--duration", "10", "--out", str(tmp_path / "b")])
    assert shorter.exit_code == 0 and "never sent" not in shorter.stderr and "picofarads" in shorter.stderr


def test_a_stimulus_spike_after_the_run_is_refused(tmp_path, late_inputs):
    stimulus = tmp_path / "stimulus.json"
    stimulus.write_text(json.dumps({"S": [[1.0, 20.0]]}))
    refused = CliRunner().invoke(
        main, ["run", str(late_inputs), "--stimulus", str(stimulus), "--out", str(tmp_path / "x")]
    )
    assert refused.exit_code == 2
    assert "stimulus for 'S', field 'spike_times[0]': 20 ms is not within the run's 20 ms" in refused.stderr
