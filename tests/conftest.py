"""Shared test helpers: paths and small networks."""

import getpass
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.catalog import load_model

ROOT = Path(__file__).resolve().parent.parent
CAM_RECORDINGS = ROOT.parent / "shared" / "reference" / "ca3-cam"

# The Brian2 reference's compiled code goes to the temporary directory, never to the user's cache, and stays
# there across sessions (a first compile takes seconds per Brian2 object). Set here, at import, so that every
# command a test starts inherits it.
# The suite runs the reference on Brian2's numpy target unless NEURODEPLOY_BRIAN2_CODEGEN says otherwise: a
# fresh machine would otherwise compile every distinct network of the suite once (test_brian2_targets runs
# both targets and holds them to the same spikes).
os.environ.setdefault("NEURODEPLOY_BRIAN2_CODEGEN", "numpy")
os.environ.setdefault(
    "NEURODEPLOY_BRIAN2_CACHE", str(Path(tempfile.gettempdir()) / f"neurodeploy-tests-{getpass.getuser()}" / "brian2")
)


@pytest.fixture
def cam_recordings() -> Path:
    """The CA3 CAM's SpiNNaker hardware recordings: shared material beside the checkout (CI always has it), not
    part of it, so a test that needs them is skipped, saying why, in a checkout without them."""
    if not CAM_RECORDINGS.is_dir():
        pytest.skip(f"needs ../shared/reference/ca3-cam/ (the CAM's hardware recordings): no {CAM_RECORDINGS}")
    return CAM_RECORDINGS


def v_trace(result, label="P") -> list[float]:
    """The first neuron's recorded membrane potential, one value per tick."""
    return result.traces[label]["v"][:, 0].tolist()


def spike_ticks(result, label="P") -> list[int]:
    """The first neuron's spike ticks."""
    return result.spikes.ticks(label)[0].tolist()


def run_reference(network, duration_ms, **options):
    return make_backend("brian2", **options).run(network, duration_ms)


def conductance_feedforward(duration_ms: float) -> nd.Network:
    """The feed-forward benchmark with IF_cond_exp neurons, each weight the conductance that drives the
    same current at -60 mV (E_rev_E 0 mV)."""
    data = load_model("feedforward-poisson", {"duration_ms": duration_ms}).network.to_dict()
    population = data["populations"][0]
    population.update(cell_type="IF_cond_exp", initial_values={"v": population["initial_values"]["v"]})
    data["projections"][0]["weight"] = (np.asarray(data["projections"][0]["weight"]) / 60.0).tolist()
    return nd.Network.from_dict(data)


@pytest.fixture
def small_network():
    return build_small_network()


def build_small_network() -> nd.Network:
    """Two populations, a spike source, static, plastic, sliced and listed projections: every kind of object."""
    net = nd.Network("small", seed=3, duration=30.0)
    net.spike_source("S", [[1.0, 5.0], [2.0], []])
    net.population("A", 3, parameters={"tau_m": 10.0, "i_offset": [0.0, 0.5, 1.0]}, initial_values={"v": -60.0})
    net.population("B", 2, parameters={"cm": "250 pF"})
    net.project("S", "A", nd.OneToOne(), weight=30.0, delay=1.0)
    net.project(
        "A", "B", nd.AllToAll(), weight=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], delay=[1, 2, 3, 1, 2, 3], receptor="inhibitory"
    )
    net.project(
        "S",
        "B",
        nd.FixedProbability(0.5, seed=7),
        weight=0.5,
        delay=2.0,
        plasticity=nd.STDP(tau_plus=3, tau_minus=3, A_plus=0.1, A_minus=0.1, w_max=1.0),
        label="plastic",
    )
    net.project(
        "A", "A", nd.FromList([0, 1], [0, 1]), weight=1.0, delay=1.0, label="A->A", pre_slice=(0, 2), post_slice=(1, 3)
    )
    net.record("A", ["spikes", "v"])
    net.record("S")
    return net


def stdp_pair_network():
    """Pre spikes at 10 and 40, a post spike at 11 (driven separately), delay 1, tau+- 20 ms, A+- 0.5 nA,
    on the inhibitory receptor so that the drive does not set its weight scale."""
    net = nd.Network("pair")
    net.spike_source("pre", [[10.0, 40.0]])
    net.spike_source("drive", [[10.0]])
    net.population("post", 1, parameters={"tau_syn_E": 0.3})
    net.project("drive", "post", nd.OneToOne(), weight=200.0)
    rule = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.5, A_minus=0.5, w_min=0.0, w_max=1.0)
    net.project("pre", "post", nd.OneToOne(), weight=0.5, receptor="inhibitory", plasticity=rule, label="plastic")
    net.record("post", ["spikes"])
    return net, rule


def random_plastic_network(seed, dependence, delay, cell="IF_curr_exp", traces="all_to_all", heterosynaptic=0.0):
    """20 sources with random spike ticks (some a tick apart) onto 5 neurons driven to fire on their own;
    sources and neurons all spike in tick 0 too (the edge of the post memory). ``traces``: the STDP
    rule's pairing; ``heterosynaptic``: the additive rule's loss per post spike (nA)."""
    rng = np.random.default_rng(seed)
    net = nd.Network("plastic")
    net.spike_source(
        "S",
        [np.unique(np.append(rng.choice(300, rng.integers(3, 30), replace=False), 0)).astype(float) for _ in range(20)],
    )
    net.spike_source(
        "D", [np.sort(rng.choice(300, rng.integers(10, 80), replace=False)).astype(float) for _ in range(5)]
    )
    net.population("P", 5, cell, initial_values={"v": -49.0})
    conductance = cell == "IF_cond_exp"
    net.project("D", "P", nd.OneToOne(), weight=0.5 if conductance else 20.0)
    if dependence == "multiplicative":
        rule = nd.STDP(
            tau_plus=20.0,
            tau_minus=30.0,
            A_plus=0.2 if conductance else 0.05,
            A_minus=0.2 if conductance else 0.06,
            w_max=0.2 if conductance else 3.0,
            weight_dependence=dependence,
            semantics=nd.STDPSemantics(traces=traces),
        )
    else:
        rule = nd.STDP(
            tau_plus=20.0,
            tau_minus=30.0,
            A_plus=0.3,
            A_minus=0.12,
            w_max=3.0,
            heterosynaptic=heterosynaptic,
            semantics=nd.STDPSemantics(traces=traces),
        )
    net.project("S", "P", nd.AllToAll(), weight=0.01 if conductance else 1.5, delay=float(delay), plasticity=rule)
    net.record("P")
    return net


def feedforward_variant(variant: str) -> nd.Network:
    """200 LIF driven by 100 Poisson sources at 10 Hz for 2 s, excited and inhibited, starting with
    synaptic current: "stock" (no refractory period, reset to rest, one current decay: Lava's own LIF
    runs it), "own" (an inhibitory current decaying to 0 within a tick on Lava) or "conductance"."""
    network = (
        conductance_feedforward(2000.0)
        if variant == "conductance"
        else load_model("feedforward-poisson", {"duration_ms": 2000.0}).network
    )
    data = network.to_dict()
    population = data["populations"][0]
    state = "gsyn" if variant == "conductance" else "isyn"
    population["initial_values"][f"{state}_exc"] = 0.004 if variant == "conductance" else 0.3
    if variant == "stock":
        population["parameters"].update(tau_refrac=0.0, v_reset=-65.0)
    if variant == "own":
        population["parameters"].update(tau_syn_I=0.1)
    inhibition = {**data["projections"][0], "label": "inputs-|neurons", "receptor": "inhibitory"}
    inhibition["weight"] = (np.asarray(inhibition["weight"]) * (0.3 if variant == "own" else 0.2)).tolist()
    data["projections"].append(inhibition)
    return nd.Network.from_dict(data)


collect_ignore = ["lava_env"]  # run inside the Lava environment (see the Makefile's test target)
