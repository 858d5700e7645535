"""The network's schedule on Brian2 (discrete mode): the run goes in pieces between the ticks at which
something changes, and between pieces the groups' constants are set again.

A population's change re-initialises its group's constants from its changed membrane and keeps every
state variable; its factor of arriving weights (``init_x``) changes a tick earlier, as Brian2 adds the
input of tick ``k`` in the synapses slot of tick ``k - 1``. A weight change reaches the spikes emitted
from its tick ``k`` on: Brian2 reads a weight
when it delivers the spike, ``d - 1`` ticks after its emission, so the synapses of delay ``d`` take their
new weight before tick ``k + d - 1``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import brian2 as b2
import numpy as np

from neurodeploy.backends.brian2.cells import membrane_lowering
from neurodeploy.backends.brian2.context import RECEPTOR_VARIABLE
from neurodeploy.description import Network, Population
from neurodeploy.errors import ValidationError


def scheduled_actions(
    network: Network, groups: dict, synapses: dict, current_feeds: dict
) -> dict[int, list[Callable[[], None]]]:
    """Per tick, what to do before it: the schedule's changes as Brian2 assignments (a changed population's
    current feed rebased on its new ``i_offset``)."""
    actions = defaultdict(list)
    current = network
    for stage in network.stages():
        for label in stage.populations:
            before, after = current.populations[label], stage.network.populations[label]
            actions[stage.tick - 1].append(population_change(groups[label], before, after, network, INPUT_FACTORS))
            feed = current_feeds.get(label)
            offset = (feed.variable,) if feed is not None else ()
            actions[stage.tick].append(population_change(groups[label], before, after, network, parameters=offset))
            if feed is not None:
                actions[stage.tick].append(feed.rebase)
        for label in stage.projections:
            delays = network.connections(label).delay_ticks
            weights = stage.network.connections(label).weight
            for delay in np.unique(delays):
                actions[stage.tick + int(delay) - 1].append(weight_change(synapses[label], delays == delay, weights))
        current = stage.network
    return actions


INPUT_FACTORS = tuple(f"init_{x}" for x in RECEPTOR_VARIABLE.values())


def population_change(
    group: b2.NeuronGroup,
    before: Population,
    after: Population,
    network: Network,
    only: tuple[str, ...] = (),
    parameters: tuple[str, ...] = (),
):
    """Setting the group's constants (and ``parameters``, variables that hold one: a current feed's
    ``i_offset``) from ``after`` (``only`` these, when given; its state kept), or a refusal now when its code
    would differ (a parameter the membrane's code holds as a literal)."""
    semantics = network.semantics
    old, new = (membrane_lowering(population)(population, semantics) for population in (before, after))
    same_code = (old.equations, old.threshold, old.reset, old.update) == (
        new.equations,
        new.threshold,
        new.reset,
        new.update,
    ) and old.namespace.keys() == new.namespace.keys()
    if not same_code or any(not np.array_equal(old.namespace[k], new.namespace[k]) for k in old.namespace):
        raise ValidationError(
            f"population '{after.label}'",
            "changes",
            "the brian2 backend cannot apply this change during a run: its code holds these parameters",
        )

    def change():
        kept = {
            name: value
            for name, value in group.get_states(units=False, read_only_variables=False).items()
            if ((name not in only) if only else not group.variables[name].constant and name not in parameters)
        }
        new.initialise(group)
        group.set_states(kept, units=False)

    return change


def weight_change(synapses: b2.Synapses, selected: np.ndarray, weights: np.ndarray):
    def change():
        values = np.asarray(synapses.w[:], dtype=np.float64).copy()
        values[selected] = weights[selected]
        synapses.w = values

    return change
