"""What our synapse ProcessModels share for structural plasticity: the projection's decision
procedure (built from the description inside the model's process) and the event record."""
from __future__ import annotations

import numpy as np

from neurodeploy.description import CoincidenceWiring, Network
from neurodeploy.description.structural import Event, rewiring_for


class Rewiring:
    def __init__(self, proc_params: dict):
        network = Network.from_dict(proc_params["network"])
        self.rewiring = rewiring_for(network, proc_params["label"])
        self.previous_pre = self.previous_post = np.empty(0, dtype=np.int64)

    def step(self, tick: int, events_var: np.ndarray, count_var: np.ndarray, weights: np.ndarray | None = None
             ) -> list[Event]:
        """The decisions of ``tick`` (from the spikes of ``tick - 1``), recorded as (tick, 1 form /
        0 eliminate, pre, post) rows; ``events_var`` has room for every event the run can have."""
        events = self.rewiring.step(tick, self.previous_pre, self.previous_post, weights)
        for event in events:
            count = int(count_var[0])
            events_var[count] = (tick, int(event.kind == "form"), event.pre, event.post)
            count_var[0] = count + 1
        return events

    def slot_weights(self, weight_of_pair) -> np.ndarray:
        """The slots' weights (post x s_max) from a function of (pre, post) arrays."""
        slots = self.rewiring.pre
        occupied = slots >= 0
        weights = np.zeros(slots.shape)
        weights[occupied] = weight_of_pair(slots[occupied], np.nonzero(occupied)[0])
        return weights


def max_events(network: Network, label: str, ticks: int) -> int:
    """Room for every event of a run of ``ticks``: one per synaptogenesis attempt; for coincidence
    wiring, every slot emptied and filled at each decision."""
    projection = network.projections[label]
    rule, dt = projection.structural, network.semantics.dt
    if isinstance(rule, CoincidenceWiring):
        return max(1, 2 * network.size_of(projection.post) * rule.s_max * (ticks // rule.period(dt) + 1))
    attempts, period = rule.schedule(dt)
    return max(1, attempts * (ticks // period + 1))
