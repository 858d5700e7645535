"""The lava backend's ``nir-paper`` quantization: the NIR paper's single LIF neuron (its graph's parameters,
its 34 input spikes) on Lava against an integer simulation of ``paper/nir_to_lava.py``'s formulas written
here, against the quantization-aware reference, and beside the paper's Norse recording; and what the
profile refuses."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT, run_reference
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower
from neurodeploy.cli import main
from neurodeploy.errors import BackendError
from neurodeploy.runs.deployment import comparison

NIR_PAPER_LIF = ROOT.parent / "shared" / "external" / "nir-paper-lif-loihi2"
DT = 0.1  # ms: the paper's dt = 1e-4 s, one row of its csv files
TICKS = 1000


@pytest.fixture
def norse_rows() -> np.ndarray:
    """lif_norse.csv: per tick the input spike, Norse's v and Norse's output spike."""
    path = NIR_PAPER_LIF / "lif_norse.csv"
    if not path.is_file():
        pytest.skip(f"needs ../shared/external/nir-paper-lif-loihi2/ (the NIR paper's LIF recordings): no {path}")
    return np.loadtxt(path, delimiter=",")


def nir_lif(input_ticks, semantics: nd.Semantics | None = None) -> nd.Network:
    """The paper's graph as the NIR importer makes it: LIF(tau 2.5 ms, r 1, v_leak 0, v_threshold 0.1) is
    IF_curr_delta with cm = tau_m, fed by Affine w = 1 as the charge w dt over a 1-tick edge."""
    semantics = semantics or nd.Semantics(
        dt=DT, threshold=">", reset="to_v_reset", discretization="euler", synaptic_init="none"
    )
    net = nd.Network("nir paper lif", semantics=semantics)
    net.spike_source("input", [[tick * DT for tick in input_ticks]])
    parameters = {"tau_m": 2.5, "cm": 2.5, "v_rest": 0.0, "v_thresh": 0.1, "v_reset": 0.0, "tau_refrac": 0.0}
    net.population("lif", 1, "IF_curr_delta", parameters=parameters)
    net.project("input", "lif", nd.OneToOne(), weight=1.0 * DT, delay=DT, label="w")
    net.record("lif", ["spikes", "v"])
    return net


def paper_lava_lif(input_ticks, ticks):
    """Lava's stock LIF as nir_to_lava.py configures it for this graph, stepped on integers: dv = dt/tau
    4095 truncated, du = 4095 (Lava keeps 4096 - (du + 1) = 0 of u: u is the tick's input), vth =
    int(0.1 131071) >> 9, shifted by 6 when compared; Dense weight int(dt/tau 256), shifted by 6 into u,
    one tick after the input; spike on v > vth << 6, v = 0."""
    dv = int(DT / 2.5 * 4095)
    vth = int(0.1 * 131071) >> 9
    weight = int(DT / 2.5 * 256)
    assert (dv, vth, weight) == (163, 25, 10)
    arriving = {tick + 1 for tick in input_ticks}
    v, trace, spikes = 0, [], []
    for tick in range(ticks):
        u = (weight << 6) if tick in arriving else 0
        v = (v * (4096 - dv) >> 12) + u  # v >= 0 throughout: >> 12 truncates toward zero
        if v > vth << 6:
            spikes.append(tick)
            v = 0
        trace.append(v)
    return trace, spikes


def same_tick(ticks, expected) -> int:
    return len(set(np.asarray(ticks).tolist()) & set(np.asarray(expected).tolist()))


def test_the_papers_lif_computes_the_papers_integers_on_lava_and_its_reference(norse_rows):
    input_ticks = np.flatnonzero(norse_rows[:, 0]).tolist()
    assert len(input_ticks) == 34
    network = nir_lif(input_ticks)
    lowered = lower(network, "nir-paper")
    fixed, projection = lowered.populations["lif"], lowered.projections["w"]
    assert (fixed.dv[0], fixed.du_exc[0], fixed.vth[0], fixed.scale) == (163, 4095, 25 << 6, 2**14)
    assert (int(projection.mantissas[0]), projection.weight_exp) == (10, 0)
    assert lowered.stock == {"lif"}

    lava = make_backend("lava", quantization="nir-paper").run(network, TICKS * DT)
    expected_v, expected_spikes = paper_lava_lif(input_ticks, TICKS)
    v_units = np.asarray(lava.traces["lif"]["v"])[:, 0] * fixed.scale  # 2^14 units per unit of v: exact
    assert v_units.tolist() == expected_v
    assert lava.spikes.ticks("lif")[0].tolist() == expected_spikes
    reference = run_reference(lowered.reference_network(), TICKS * DT)
    assert reference.spikes.ticks("lif")[0].tolist() == expected_spikes

    # Beside Norse (where the graph came from), one tick later for the graph's edge: a measurement, printed
    # for both profiles; the paper's integers fire with Norse.
    norse = np.flatnonzero(norse_rows[:, 2]) + 1
    ours = make_backend("lava").run(network, TICKS * DT).spikes.ticks("lif")[0]
    for name, ticks in (("nir-paper", expected_spikes), ("neurodeploy", ours)):
        print(f"{name}: {len(ticks)} spikes, Norse {len(norse)}, {same_tick(ticks, norse)} in the same tick")
    assert expected_spikes == norse.tolist()


def test_what_the_papers_stock_lif_cannot_compute_is_one_error():
    net = nir_lif([1, 2], nd.Semantics(dt=DT, threshold=">=", reset="subtract", discretization="euler"))
    net.population("exp", 1, parameters={"tau_m": 2.5, "tau_syn_E": 1.0})
    net.population("off_rest", 1, "IF_curr_delta", parameters={"v_rest": -65.0, "v_reset": -70.0, "tau_refrac": 1.0})
    with pytest.raises(BackendError) as refused:
        lower(net, "nir-paper")
    message = str(refused.value)
    assert message.startswith("the nir-paper quantization cannot lower this network: ")
    for part in (
        "threshold '>='",
        "reset 'subtract'",
        "population 'exp' is IF_curr_exp",
        "population 'off_rest': v_rest must be 0",
        "population 'off_rest': v_reset must be 0",
        "population 'off_rest': tau_refrac must be 0",
    ):
        assert part in message
    assert "population 'lif'" not in message  # the NIR LIF itself is expressible


def test_weights_follow_the_papers_truncation_with_the_affine_weight_kept():
    # Affine w = 2.3 onto the LIF: int(256 x 2.3 x 0.04) = int(23.552) = 23 (neurodeploy's rounding at its
    # own scale would differ); 30 needs an exponent: int(256 x 30 x 0.04 / 2) = int(153.6) = 153 at e = 1.
    net = nir_lif([1])
    net.project("input", "lif", nd.OneToOne(), weight=2.3 * DT, delay=DT, label="w2")
    net.project("input", "lif", nd.OneToOne(), weight=30.0 * DT, delay=DT, receptor="inhibitory", label="w3")
    projections = lower(net, "nir-paper").projections
    assert (int(projections["w2"].mantissas[0]), projections["w2"].weight_exp) == (math.floor(256 * 2.3 * 0.04), 0)
    assert (int(projections["w3"].mantissas[0]), projections["w3"].weight_exp) == (153, 1)


def test_the_cli_takes_the_quantization_as_a_backend_option(tmp_path):
    model = tmp_path / "nir.json"
    model.write_text(json.dumps(nir_lif([1], nd.Semantics(dt=DT, threshold=">=")).to_dict()))
    runner = CliRunner()

    def run(quantization: str):
        option = f"quantization={quantization}"
        return runner.invoke(
            main,
            [
                "run",
                str(model),
                "--backend",
                "lava",
                "--backend-option",
                option,
                "--duration",
                "1",
                "--out",
                str(tmp_path / "r"),
            ],
        )

    unknown = run("exact")
    assert unknown.exit_code != 0 and "quantization" in unknown.output and "nir-paper" in unknown.output
    refused = run("nir-paper")
    assert refused.exit_code != 0 and "nir-paper quantization cannot lower this network" in refused.output
    assert "threshold '>='" in refused.output


@pytest.mark.slow
def test_deploy_to_the_nir_paper_variant_of_loihi2_runs_the_papers_integers(tmp_path):
    """loihi2-nir-paper is loihi2's figures with the paper's quantization: the compile reports the
    paper's dv and threshold, and the target equals its quantization-aware reference."""
    if not NIR_PAPER_LIF.is_dir():
        pytest.skip(f"needs ../shared/external beside the checkout: no {NIR_PAPER_LIF}")
    rows = np.loadtxt(NIR_PAPER_LIF / "lif_norse.csv", delimiter=",")
    stimulus = tmp_path / "input.json"
    stimulus.write_text(json.dumps({"input": [[round(t * DT, 6) for t in np.flatnonzero(rows[:, 0])]]}))
    out = tmp_path / "deploy"
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            str(NIR_PAPER_LIF / "lif_norse.nir"),
            "--dt",
            str(DT),
            "--discretization",
            "euler",
            "--stimulus",
            str(stimulus),
            "--duration",
            "100",
            "--target",
            "loihi2-nir-paper",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = (out / "loihi2-nir-paper" / "compile" / "compile.txt").read_text()
    assert f"dv [{int(DT / 2.5 * 4095)}]" in report and f"vth [{(int(0.1 * 131071) >> 9) << 6}]" in report
    verdict = json.loads((out / "deploy.json").read_text())
    correctness = comparison(verdict, "correctness")
    assert verdict["passed"] and correctness["spikes"]["populations"]["1"]["same_tick_fraction"] == 1.0
