"""What our ProcessModels share for structural plasticity and neuron turnover: the decision procedures
(built from the description inside the model's process) and their records.

Turnover runs in every process that needs its decisions: the population's neuron process (which
neurons may fire, which come alive at rest) and each structural synapse process touching the
population (which synapses die with a neuron, which inputs a new neuron gets). Each holds its own
copy of the population's ``PopulationTurnover``, fed the same spikes of the previous tick and the
same "reached" counts (static spikes arriving, through a ``reach`` port), so every copy draws the
same numbers and takes the same decisions, at the start of the same tick.
"""

from __future__ import annotations

import numpy as np

from neurodeploy.description import CoincidenceWiring, Network
from neurodeploy.description.structural import Event, rewiring_for
from neurodeploy.description.turnover import PopulationTurnover

NONE = np.empty(0, dtype=np.int64)


def population_turnover(network: Network, label: str) -> tuple[PopulationTurnover, int]:
    """A copy of the population's turnover procedure, and the pre population size of its new inputs."""
    source = network.turnovers[label].input_projection
    n_pre = network.size_of(network.projections[source].pre) if source else 0
    return PopulationTurnover.for_population(network, label), n_pre


class Rewiring:
    def __init__(self, proc_params: dict):
        network = Network.from_dict(proc_params["network"])
        self.label = proc_params["label"]
        self.rewiring = rewiring_for(network, self.label)
        self.initial_mantissa, self.unit = proc_params["initial_mantissa"], proc_params["unit"]
        self.previous_pre = self.previous_post = NONE
        projection = network.projections[self.label]
        self.turnovers = []  # (sides the population is on, its procedure, n_pre), in the network's order
        for population in network.turnovers:
            sides = [side for side in ("post", "pre") if getattr(projection, side) == population]
            if sides:
                turnover, n_pre = population_turnover(network, population)
                for side in sides:
                    setattr(self.rewiring, f"alive_{side}", turnover.alive)
                self.turnovers.append((sides, turnover, n_pre))

    def slot_weights(self, pre: np.ndarray, mantissas: np.ndarray) -> np.ndarray:
        """The weights (nA or uS) the slots (post x s_max: pre neuron or -1, mantissa) hold, static or
        plastic, for elimination by weight: a decision compares what the integers hold, as the
        quantization-aware reference does (its weights are the stored ones); a slot holding the initial
        weight's mantissa reports the initial weight, so that it compares with thresholds as the
        description's."""
        return np.where(
            pre < 0,
            0.0,
            np.where(mantissas == self.initial_mantissa, self.rewiring.rule.initial_weight, mantissas * self.unit),
        )

    def step(self, tick: int, events_var: np.ndarray, count_var: np.ndarray, weights, reached: dict) -> list[Event]:
        """The decisions of ``tick`` (from the spikes of ``tick - 1``): turnover first, as the shared
        engine orders them, then the rule's, on the slots' ``weights`` (a function giving :meth:`slot_weights`,
        called only on a decision's tick); recorded
        as (tick, 1 form / 0 eliminate, pre, post) rows (``events_var`` has room for every event the run
        can have). ``reached``: per side, the neurons static spikes of ``tick - 1`` reach."""
        events = []
        for sides, turnover, n_pre in self.turnovers:
            spikes = self.previous_post if sides[0] == "post" else self.previous_pre
            change = turnover.step(tick, spikes, reached[sides[0]], n_pre)
            for neuron in change.dying.tolist():
                for side in sides:
                    events += self.rewiring.remove_neuron(tick, neuron, side)
            if turnover.rule.input_projection == self.label:
                for neuron, inputs in zip(change.growing.tolist(), change.partners):
                    events += self.rewiring.attach(tick, neuron, inputs)
        events += self.rewiring.step(tick, self.previous_pre, self.previous_post, weights)
        for event in events:
            count = int(count_var[0])
            events_var[count] = (tick, int(event.kind == "form"), event.pre, event.post)
            count_var[0] = count + 1
        return events


def received_reach(model) -> dict:
    """Per side, the neurons that static spikes of the previous tick reach, from the model's
    ``reach_pre`` / ``reach_post`` ports (an unconnected port receives zeros: nobody is reached)."""
    return {side: np.flatnonzero(getattr(model, f"reach_{side}").recv()) for side in ("pre", "post")}


def max_events(network: Network, label: str, ticks: int) -> int:
    """Room for every event of a run of ``ticks``: one per synaptogenesis attempt; for coincidence
    wiring, every slot emptied and filled at each decision; with turnover, every slot emptied and
    filled at each of its epochs."""
    projection = network.projections[label]
    rule, dt = projection.structural, network.semantics.dt
    slots = network.size_of(projection.post) * rule.s_max
    if isinstance(rule, CoincidenceWiring):
        room = 2 * slots * (ticks // rule.period(dt) + 1)
    else:
        attempts, period = rule.schedule(dt)
        room = attempts * (ticks // period + 1)
    for population, turnover in network.turnovers.items():
        if population in (projection.pre, projection.post):
            room += 2 * slots * (ticks // int(round(turnover.epoch / dt)) + 1)
    return max(1, room)
