"""Brian2's cell registry (backends/brian2/cells.py): cell types and their parts are lowered by lookup, an
unknown one is refused by name, and a new one needs registrations there only."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.backends.brian2 import cells
from neurodeploy.description.cells import CellType, CurrentInput, IFCurrExp, parameter
from neurodeploy.errors import BackendError


@dataclass(frozen=True, eq=False)
class Resonator(CellType):
    """A cell type no backend lowers."""

    name: ClassVar[str] = "resonator"
    neuron: ClassVar[object] = None
    synapse: ClassVar[object] = None
    input: ClassVar[object] = CurrentInput()

    tau_refrac: float = parameter("ms", 0.0)
    v: float = parameter("mV", -65.0, initial=True)


@dataclass(frozen=True)
class ShuntInput:
    """An input type no backend lowers."""

    weight_unit: ClassVar[str] = "nA"
    state: ClassVar[str] = "isyn"


@dataclass(frozen=True, eq=False)
class IFCurrShunt(IFCurrExp):
    name: ClassVar[str] = "IF_curr_shunt"
    input: ClassVar[object] = ShuntInput()


@dataclass(frozen=True)
class AdaptiveThreshold:
    """A neuron part no backend lowers."""


@dataclass(frozen=True, eq=False)
class IFCurrAdaptive(IFCurrExp):
    """LIF parameters on another neuron part: none of the LIF's lowerings computes it."""

    name: ClassVar[str] = "IF_curr_adaptive"
    neuron: ClassVar[object] = AdaptiveThreshold()


@dataclass(frozen=True, eq=False)
class PerfectIntegrator(CellType):
    """A test's own cell type: a spike adds its weight to V in the arrival tick, no leak; threshold,
    reset and refractoriness as IF_curr_exp. Lowered by one registration below, nothing else."""

    name: ClassVar[str] = "perfect_integrator"
    neuron: ClassVar[object] = None
    synapse: ClassVar[object] = None
    input: ClassVar[object] = CurrentInput()

    tau_refrac: float = parameter("ms", 0.0, non_negative=True)
    v_rest: float = parameter("mV", -65.0)
    v_reset: float = parameter("mV", -65.0)
    v_thresh: float = parameter("mV", -50.0)
    v: float = parameter("mV", "v_rest", initial=True)


@cells.FLOAT.register(PerfectIntegrator)
def perfect_integrator(population, semantics) -> cells.Membrane:
    def initialise(group):
        cells.initialise_lif(group, population, semantics)
        for variable in ("v", "v_reset", "v_thresh"):
            setattr(group, variable, population.value(variable))
        group.init_exc = group.init_inh = 1.0

    return cells.Membrane(
        cells.LIF_STATE + "v : 1\n" + cells.constants("v_reset", "v_thresh"),
        ("v", "v_thresh"),
        cells.lif_reset(semantics, "v", "v_thresh", "v_reset"),
        """
        integrating = int(refractory_left <= 0)
        v = (v + syn_exc - syn_inh) * integrating + v * (1 - integrating)
        refractory_left -= 1 - integrating
        syn_exc = 0
        syn_inh = 0
        """,
        {},
        initialise,
        {"v": "v_rest", "refractory_left": "0"},
    )


def network_of(cell, arithmetic=None) -> nd.Network:
    net = nd.Network("cells")
    net.spike_source("S", [[5.0, 7.0, 8.0]])
    net.add(nd.Population("P", 1, cell, arithmetic=arithmetic))
    net.project("S", "P", nd.OneToOne(), weight=6.0, delay=1.0)
    net.record("P", ["spikes", "v"])
    return net


@pytest.mark.parametrize("mode", ["discrete", "physics"])
def test_an_unknown_cell_type_or_part_is_refused_by_name(mode):
    with pytest.raises(BackendError, match=f"^the brian2 \\({mode}\\) backend cannot lower Resonator$"):
        make_backend("brian2", mode=mode).run(network_of(Resonator()), 10.0)
    with pytest.raises(BackendError, match="^the brian2 backend cannot lower ShuntInput$"):
        make_backend("brian2", mode=mode).run(network_of(IFCurrShunt()), 10.0)


@pytest.mark.parametrize(
    "backend, options, arithmetic",
    [
        ("brian2", {"mode": "discrete"}, None),
        ("brian2", {"mode": "physics"}, None),
        ("brian2", {}, nd.Accumulator({"excitatory": 2.0, "inhibitory": 2.0})),
        ("spinnaker", {}, None),
        ("lava", {}, None),
    ],
)
def test_a_lif_parameterised_cell_with_another_neuron_part_is_refused(backend, options, arithmetic):
    network = network_of(IFCurrAdaptive(), arithmetic)
    with pytest.raises(
        BackendError,
        match=r"backend lowers \w+ with neuron LeakyIntegrate; IFCurrAdaptive's neuron "
        r"is AdaptiveThreshold: register a lowering for it$",
    ):
        make_backend(backend, **options).run(network, 10.0)


def test_a_cell_type_is_refused_in_an_arithmetic_it_has_no_membrane_for():
    network = network_of(PerfectIntegrator(), nd.Accumulator({"excitatory": 2.0, "inhibitory": 2.0}))
    with pytest.raises(
        BackendError,
        match=r"^the brian2 \(discrete, Accumulator arithmetic\) backend cannot "
        r"lower PerfectIntegrator$",
    ):
        make_backend("brian2").run(network, 10.0)


def test_a_cell_type_registered_in_cells_alone_runs():
    # Weights of 6 mV arrive in ticks 6, 8 and 9 (spikes at 5, 7, 8 ms, delay 1 tick): V -65 -> -59 -> -53,
    # which reaches -55: a spike in tick 8, V = -70, held for 2 ticks, so the third weight is lost.
    cell = PerfectIntegrator(v_thresh=-55.0, v_reset=-70.0, tau_refrac=2.0)
    result = make_backend("brian2").run(network_of(cell), 12.0)
    np.testing.assert_array_equal(result.traces["P"]["v"][:, 0], [-65.0] * 6 + [-59.0] * 2 + [-70.0] * 4)
    np.testing.assert_array_equal(result.spikes.populations["P"][0], [8.0])
