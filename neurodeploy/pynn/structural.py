"""sPyNNaker's structural plasticity (``sim.StructuralMechanismStatic``, ``sim.StructuralMechanismSTDP`` with
``LastNeuronSelection`` or ``RandomSelection``, ``DistanceDependentFormation`` and
``RandomByWeightElimination``, their parameters and defaults sPyNNaker 7.4.1's) on the description's
``Synaptogenesis``, the exact inverse of ``neurodeploy.interchange.pynn_export``:

* partner_selection: ``LastNeuronSelection()`` -> ``"last_neuron"``, ``RandomSelection()`` -> ``"random"``;
* formation: ``grid``, ``p_form_forward``, ``sigma_form_forward``, ``p_form_lateral``, ``sigma_form_lateral``
  -> the fields of those names;
* elimination: ``threshold`` -> ``weight_threshold``, ``prob_elim_depressed`` -> ``p_elim_dep``,
  ``prob_elim_potentiated`` -> ``p_elim_pot``;
* ``f_rew``, ``initial_weight``, ``s_max`` -> the fields of those names; ``seed`` -> the network's seed (the
  description draws every rewiring decision from it; None: setup's seed);
* ``weight`` and ``delay`` are the connector's synapses', as a StaticSynapse's; the STDP variant's timing and
  weight dependence become the projection's STDP as ``STDPMechanism``'s do.

What the description cannot hold is refused, naming it: ``with_replacement=True`` (sPyNNaker's default: a
pair may hold several synapses; the description holds one per pair), a synapse ``delay`` other than one
time step (``initial_delay``, one delay or a range, is the description's, with or without STDP), STDP other
than additive, a ``LastNeuronSelection`` buffer other than sPyNNaker's 64 spikes, a grid neither square nor
one row (where sPyNNaker's places are not the description's), sides that are views or Assemblies, and
structural mechanisms with different seeds.

After a run, a structural projection's ``get`` reads the synapses its slots hold at the end
(:func:`final_synapses`)."""

from __future__ import annotations

import numpy as np
from pyNN.common import Assembly, PopulationView
from pyNN.connectors import FromListConnector

import neurodeploy.description as nd
from neurodeploy.pynn.build import unsupported
from neurodeploy.pynn.connectivity import single_value
from neurodeploy.pynn.electrodes import NoisyCurrentSource
from neurodeploy.pynn.plasticity import AdditiveWeightDependence, STDPMechanism
from neurodeploy.pynn.standardmodels import StaticSynapse

SPIKE_BUFFER_SIZE = 64
"""sPyNNaker's LastNeuronSelection buffer: the description's last-neuron selection is the one the spinn5
target hands sPyNNaker with it."""


class LastNeuronSelection:
    """sPyNNaker's partner selection among the pre neurons that spiked in the previous time step."""

    partner_selection = "last_neuron"

    def __init__(self, spike_buffer_size: int = SPIKE_BUFFER_SIZE):
        if spike_buffer_size != SPIKE_BUFFER_SIZE:
            raise unsupported(
                f"LastNeuronSelection(spike_buffer_size={spike_buffer_size!r}) (only sPyNNaker's "
                f"{SPIKE_BUFFER_SIZE}, the buffer of the description's last-neuron selection on SpiNNaker)"
            )
        self.spike_buffer_size = spike_buffer_size


class RandomSelection:
    """sPyNNaker's partner selection of any pre neuron, uniformly."""

    partner_selection = "random"


class DistanceDependentFormation:
    """sPyNNaker's formation with a probability falling with the distance on a periodic grid."""

    def __init__(
        self,
        grid=(16, 16),
        p_form_forward: float = 0.16,
        sigma_form_forward: float = 2.5,
        p_form_lateral: float = 1.0,
        sigma_form_lateral: float = 1.0,
    ):
        self.grid = tuple(int(g) for g in np.asarray(grid, dtype=int))
        if self.grid[0] != 1 and self.grid[0] != self.grid[1]:
            raise unsupported(
                f"DistanceDependentFormation(grid={list(self.grid)}) (sPyNNaker places neuron n at "
                "(n // grid[0], n % grid[1]), the description at (n // grid[1], n % grid[1]): the same places on "
                "square grids and grids of one row only)"
            )
        self.p_form_forward = p_form_forward
        self.sigma_form_forward = sigma_form_forward
        self.p_form_lateral = p_form_lateral
        self.sigma_form_lateral = sigma_form_lateral

    def fields(self) -> dict:
        return {
            "grid": self.grid,
            "p_form_forward": self.p_form_forward,
            "sigma_form_forward": self.sigma_form_forward,
            "p_form_lateral": self.p_form_lateral,
            "sigma_form_lateral": self.sigma_form_lateral,
        }


class RandomByWeightElimination:
    """sPyNNaker's elimination with one probability below ``threshold`` (depressed) and one at or above it."""

    def __init__(self, threshold: float, prob_elim_depressed: float = 0.0245, prob_elim_potentiated: float = 1.36e-4):
        self.threshold = threshold
        self.prob_elim_depressed = prob_elim_depressed
        self.prob_elim_potentiated = prob_elim_potentiated

    def fields(self) -> dict:
        return {
            "weight_threshold": self.threshold,
            "p_elim_dep": self.prob_elim_depressed,
            "p_elim_pot": self.prob_elim_potentiated,
        }


DEFAULT_F_REW, DEFAULT_INITIAL_WEIGHT, DEFAULT_INITIAL_DELAY, DEFAULT_S_MAX = 1e4, 0.0, 1.0, 32


class Structural:
    """What both mechanisms hold beside their synapse's parameters, and their description."""

    def keep(
        self, partner_selection, formation, elimination, f_rew, initial_weight, initial_delay, s_max, replace, seed
    ):
        for given, kind, name in (
            (partner_selection, (LastNeuronSelection, RandomSelection), "partner selection"),
            (formation, (DistanceDependentFormation,), "formation"),
            (elimination, (RandomByWeightElimination,), "elimination"),
        ):
            if not isinstance(given, kind):
                raise unsupported(
                    f"the structural {name} {type(given).__name__} (only {', '.join(k.__name__ for k in kind)})"
                )
        if replace:
            raise unsupported(
                "with_replacement=True (sPyNNaker's default: a pair may hold several synapses; the description's "
                "synaptogenesis holds one per pair: give with_replacement=False)"
            )
        self.partner_selection, self.formation, self.elimination = partner_selection, formation, elimination
        self.f_rew, self.initial_weight, self.initial_delay, self.s_max = f_rew, initial_weight, initial_delay, s_max
        self.with_replacement, self.seed = replace, seed

    def structural_description(self, projection) -> nd.Synaptogenesis:
        """The description's synaptogenesis of this mechanism on ``projection`` (whole populations only)."""
        for side in (projection.pre, projection.post):
            if isinstance(side, (PopulationView, Assembly)):
                raise unsupported(
                    f"a structural projection on a {type(side).__name__} (rewiring spans whole populations)"
                )
        dt = projection._simulator.state.dt
        delays = np.atleast_1d(np.asarray(self.initial_delay, dtype=float))
        if delays.size not in (1, 2):
            raise unsupported(f"initial_delay={self.initial_delay!r} (one delay, or a (low, high) range)")
        one_tick = np.allclose(delays, dt, rtol=0, atol=1e-9 * dt)
        initial_delay = None if one_tick else float(delays[0]) if delays.size == 1 else tuple(delays.tolist())
        delay = single_value(self.parameter_space["delay"])
        connector = projection._connector
        listed = isinstance(connector, FromListConnector) and "delay" in connector.column_names
        if not listed and delay is not None and not np.isclose(delay, dt, rtol=0, atol=1e-9 * dt):
            raise unsupported(
                f"delay={delay:g} ms on a structural projection (its synapses have a delay of one time step: {dt:g} ms)"
            )
        return nd.Synaptogenesis(
            s_max=self.s_max,
            f_rew=self.f_rew,
            partner_selection=self.partner_selection.partner_selection,
            **self.formation.fields(),
            **self.elimination.fields(),
            initial_weight=self.initial_weight,
            initial_delay=initial_delay,
        )


class StructuralMechanismStatic(Structural, StaticSynapse):
    """sPyNNaker's synaptogenesis with static weights (``sim.StructuralMechanismStatic``)."""

    def __init__(
        self,
        partner_selection,
        formation,
        elimination,
        f_rew=DEFAULT_F_REW,
        initial_weight=DEFAULT_INITIAL_WEIGHT,
        initial_delay=DEFAULT_INITIAL_DELAY,
        s_max=DEFAULT_S_MAX,
        with_replacement=True,
        seed=None,
        weight=StaticSynapse.default_parameters["weight"],
        delay=None,
    ):
        self.keep(
            partner_selection,
            formation,
            elimination,
            f_rew,
            initial_weight,
            initial_delay,
            s_max,
            with_replacement,
            seed,
        )
        StaticSynapse.__init__(self, weight=weight, delay=delay)


class StructuralMechanismSTDP(Structural, STDPMechanism):
    """sPyNNaker's synaptogenesis with STDP (``sim.StructuralMechanismSTDP``): the weights follow the timing
    and weight dependence as ``STDPMechanism``'s do (additive only: the description's synaptogenesis
    combines with additive STDP)."""

    def __init__(
        self,
        partner_selection,
        formation,
        elimination,
        timing_dependence,
        weight_dependence,
        voltage_dependence=None,
        dendritic_delay_fraction=1.0,
        f_rew=DEFAULT_F_REW,
        initial_weight=DEFAULT_INITIAL_WEIGHT,
        initial_delay=DEFAULT_INITIAL_DELAY,
        s_max=DEFAULT_S_MAX,
        with_replacement=True,
        seed=None,
        weight=StaticSynapse.default_parameters["weight"],
        delay=None,
        backprop_delay=True,
    ):
        if not backprop_delay:
            raise unsupported("backprop_delay=False (the description's STDP sees post spikes after the delay)")
        self.keep(
            partner_selection,
            formation,
            elimination,
            f_rew,
            initial_weight,
            initial_delay,
            s_max,
            with_replacement,
            seed,
        )
        STDPMechanism.__init__(
            self,
            timing_dependence=timing_dependence,
            weight_dependence=weight_dependence,
            voltage_dependence=voltage_dependence,
            dendritic_delay_fraction=dendritic_delay_fraction,
            weight=weight,
            delay=delay,
        )

    def structural_description(self, projection) -> nd.Synaptogenesis:
        if not isinstance(self.weight_dependence, AdditiveWeightDependence):
            raise unsupported(
                f"StructuralMechanismSTDP with {type(self.weight_dependence).__name__} (the description's "
                "synaptogenesis combines with additive STDP only)"
            )
        return super().structural_description(projection)


def network_seed(state) -> int:
    """The network's seed: the structural mechanisms' (one for all: the description draws every rewiring
    decision from the network's seed), else setup's."""
    seeds = {
        int(projection.synapse_type.seed)
        for projection in state.projections
        if isinstance(projection.synapse_type, Structural) and projection.synapse_type.seed is not None
    }
    if not seeds:
        return state.seed
    if len(seeds) > 1:
        raise unsupported(
            f"structural mechanisms with different seeds {sorted(seeds)} (the description draws every rewiring "
            "decision from the network's one seed)"
        )
    (seed,) = seeds
    noisy = any(isinstance(source, NoisyCurrentSource) for source in state.current_sources)
    if noisy and seed != state.seed:
        raise unsupported(
            f"a structural mechanism's seed {seed} beside setup's seed {state.seed} with a NoisyCurrentSource "
            "(the description draws the noise and the rewiring from the network's one seed)"
        )
    return seed


def final_synapses(projection, result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The synapses a structural projection's slots hold at the end of ``result``: pre and post indices and
    weights (signed as the script gave them), by post then pre. A plastic projection's as the run reports
    them; a static one's the connector's synapses replayed through the run's formations (at
    ``initial_weight``) and eliminations."""
    part, sign = projection.description, projection.weight_sign
    if part.plasticity is not None:
        final = result.weights[part.label]
        return np.asarray(final["pre"]), np.asarray(final["post"]), np.asarray(final["weight"]) * sign
    pre, post = projection.local_pairs()
    held = dict(zip(zip(pre.tolist(), post.tolist()), projection.described("weight").tolist()))
    for _, kind, i, j in result.structural["events"][part.label]:
        if kind == "form":
            held[(i, j)] = part.structural.initial_weight * sign
        else:
            del held[(i, j)]
    pairs = sorted(held, key=lambda pair: (pair[1], pair[0]))
    return (
        np.array([i for i, _ in pairs], dtype=np.int64),
        np.array([j for _, j in pairs], dtype=np.int64),
        np.array([held[pair] for pair in pairs], dtype=float),
    )
