"""Livewired associative memory: pairs of patterns that fire together wire together, in a few shots.

What it does
    Two lines of neurons, ``A`` and ``B``, each driven one-to-one by its input (``XA``, ``XB``). Pattern
    ``k`` is the neurons ``k*pattern_size .. (k+1)*pattern_size - 1`` of both lines. Presenting a
    pattern makes its A and B neurons fire together; the projection ``A->B`` starts empty and wires
    itself by coincidence (``CoincidenceWiring``): once a pair's score passes the formation
    threshold, the synapse forms. After that, the A half of the pattern alone (a recall) makes its B
    half fire: the association is recalled. Associations that are no longer presented fade (the
    scores decay by ``retention`` every epoch) and their synapses are eliminated.

Populations (IF_curr_exp, tau_m 3 ms, cm 0.27 nF, tau_syn_E 0.3 ms, v_thresh -62 mV, tau_refrac 2 ms)
    XA, XB (spike sources, ``n_patterns * pattern_size`` each); A, B (as many LIF neurons).

Projections
    XA -> A and XB -> B one-to-one, 10 nA (each input spike fires its neuron, one tick later);
    A -> B coincidence wiring: ``s_max = pattern_size``, ``tau_coincidence`` 3 ms, decisions every
    20 ms, formation at score 5, elimination below 0.5, ``retention`` 0.95 per epoch, formed weight
    ``assoc_weight`` nA.

Operations (``--protocol``; 1 ms ticks)
    ``{"op": "present", "pattern": k, "t": t0}``: XA spikes at t0, t0+3, t0+6 and XB one tick after
    each; the next operation may start 20 ms later. One presentation scores about 4 per pair (by hand,
    from the trace rule: 0.72 + 0.98 + 1.08 for B spikes after A, 0.51 + 0.70 for A after B), so the
    second presentation forms the pattern's synapses at the next decision (few-shot).
    ``{"op": "recall", "pattern": k, "t": t0}``: one XA spike per neuron of the pattern at t0; the B
    neurons that fire in t0+1..t0+5 are the answer; the next operation may start 10 ms later.
    An ideal associative memory answers a recall with the partner of any pattern presented before.

Neuron turnover (``turnover=True``; the reference, the SpiNNaker emulation and Lava run it)
    A and B get ``NeuronTurnover``: every ``turnover_epoch`` ms the dormant ratio is measured
    (dormant: silent in the epoch); a neuron silent ``dormant_epochs`` epochs in a row is pruned with
    its synapses; a dead neuron that its input line reaches (a new pattern arrives) is recruited at
    the next epoch's end, at rest and without synapses, and coincidence wiring then wires it. The
    presentation that finds the neurons dead is lost; two more wire the association.
    ``models/protocols/livewired-assoc-new-patterns.json`` shows it; ``scripts/livewired_turnover.py``
    plots the dormant ratio and the neuron count per epoch.

Reference: the rule follows "neurons that fire together wire together" (Schumacher, *Livewired
neural networks*); the operations are this project's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from neurodeploy.description import CoincidenceWiring, FromList, Network, NeuronTurnover, OneToOne, resources, values
from neurodeploy.description.semantics import MAX_TICKS
from neurodeploy.description.values import Range
from neurodeploy.errors import ValidationError
from neurodeploy.protocols import OperationProtocol
from neurodeploy.results import SpikeRecord

NAME = "livewired-assoc"

CELL = {"tau_refrac": 2.0, "tau_syn_E": 0.3, "tau_m": 3.0, "cm": 0.27, "v_thresh": -62.0}
PRESENT_TICKS = (0, 3, 6)  # XA spike offsets of a presentation; XB follows each by one tick
SPACING = {"present": 20, "recall": 10}
RECALL_WINDOW = (1, 5)  # ticks after a recall whose B spikes are its answer


@dataclass(frozen=True)
class Operation:
    index: int
    op: str
    t: int
    pattern: int

    def to_dict(self) -> dict:
        return {"op": self.op, "pattern": self.pattern, "t": self.t}


def _sizes(parameters: dict, where: str) -> tuple[int, int]:
    return (
        values.integer(parameters.get("n_patterns", 4), where, "n_patterns", minimum=1),
        values.integer(parameters.get("pattern_size", 2), where, "pattern_size", minimum=1),
    )


class AssociationProtocol(OperationProtocol):
    def parse(self, data, parameters):
        n_patterns, _ = _sizes(parameters, f"model '{NAME}'")
        if not isinstance(data, list):
            raise ValidationError("protocol", None, "expected a JSON list of operations")
        operations = []
        for index, item in enumerate(data):
            where = f"protocol operation {index}"
            if not isinstance(item, dict) or not isinstance(item.get("op"), str) or item["op"] not in SPACING:
                raise ValidationError(where, "op", f"{NAME} runs 'present' and 'recall'; got {item!r}")
            values.check_keys(item, ("op", "pattern", "t"), where, required=("op", "pattern", "t"))
            t = values.integer(item["t"], where, "t", minimum=0, maximum=MAX_TICKS)
            where = f"protocol operation {index} ({item['op']} at t={t} ms)"
            pattern = values.integer(item["pattern"], where, "pattern", minimum=0)
            if pattern >= n_patterns:
                raise ValidationError(where, "pattern", f"{pattern} is out of range: n_patterns is {n_patterns}")
            operations.append(Operation(index, item["op"], t, pattern))
        for current, following in zip(operations, operations[1:]):
            if following.t - current.t < SPACING[current.op]:
                raise ValidationError(
                    f"protocol operation {current.index} ({current.op} at t={current.t} ms)",
                    "t",
                    f"the next operation comes {following.t - current.t} ms later; {NAME} needs "
                    f"{SPACING[current.op]} ms after a {current.op}",
                )
        return operations

    def stimulus(self, operations, parameters):
        n_patterns, size = _sizes(parameters, f"model '{NAME}'")
        a, b = [[] for _ in range(n_patterns * size)], [[] for _ in range(n_patterns * size)]
        for operation in operations:
            for neuron in range(operation.pattern * size, (operation.pattern + 1) * size):
                if operation.op == "recall":
                    a[neuron].append(float(operation.t))
                    continue
                a[neuron] += [float(operation.t + k) for k in PRESENT_TICKS]
                b[neuron] += [float(operation.t + k + 1) for k in PRESENT_TICKS]
        return {"XA": a, "XB": b}

    def duration_ms(self, operations):
        return float(operations[-1].t + SPACING[operations[-1].op]) if operations else 10.0

    def decode(self, operations, spikes: SpikeRecord, parameters):
        _, size = _sizes(parameters, f"model '{NAME}'")
        trains = spikes.ticks("B")
        presented, answers = {}, []
        for operation in operations:
            if operation.op == "present":
                presented[operation.pattern] = presented.get(operation.pattern, 0) + 1
                continue
            start, stop = operation.t + RECALL_WINDOW[0], operation.t + RECALL_WINDOW[1]
            answer = [n for n, ticks in enumerate(trains) if ((ticks >= start) & (ticks <= stop)).any()]
            partner = list(range(operation.pattern * size, (operation.pattern + 1) * size))
            ideal = partner if operation.pattern in presented else []
            answers.append(
                {
                    **operation.to_dict(),
                    "presentations_before": presented.get(operation.pattern, 0),
                    "answer": answer,
                    "ideal": ideal,
                    "agrees": answer == ideal,
                }
            )
        return {
            "model": NAME,
            "operations": answers,
            "summary": {
                "recalls": len(answers),
                "agree": sum(a["agrees"] for a in answers),
                "all_agree": all(a["agrees"] for a in answers),
            },
        }

    def table(self, answers):
        rows = [f"{'t ms':>6}  {'recall':<10} {'presented':>9}  {'answer (B neurons)':<24} ideal"]
        for item in answers["operations"]:
            verdict = "same" if item["agrees"] else f"DIFFERS: {item['ideal']}"
            rows.append(
                f"{item['t']:>6}  pattern {item['pattern']:<2} {item['presentations_before']:>9}  "
                f"{str(item['answer']):<24} {verdict}"
            )
        summary = answers["summary"]
        rows.append(f"agreement with an ideal associative memory: {summary['agree']}/{summary['recalls']} recalls")
        return "\n".join(rows)


PROTOCOL = AssociationProtocol()


def training_schedule(n_patterns: int, presentations: int, start: int = 10) -> list[dict]:
    """Every pattern presented ``presentations`` times, interleaved, then each recalled once."""
    operations = [
        {"op": "present", "pattern": k, "t": start + SPACING["present"] * (r * n_patterns + k)}
        for r in range(presentations)
        for k in range(n_patterns)
    ]
    t = start + SPACING["present"] * presentations * n_patterns
    return operations + [{"op": "recall", "pattern": k, "t": t + SPACING["recall"] * k} for k in range(n_patterns)]


OPERATION_BYTES = 2048
"""Memory an operation of the schedule takes while it is written out and parsed (an over-estimate)."""


def build(
    n_patterns: Annotated[int, Range(at_least=1)] = 4,
    pattern_size: Annotated[int, Range(at_least=1)] = 2,
    presentations: Annotated[int, Range(at_least=0)] = 2,
    assoc_weight: Annotated[float, Range(at_least=0)] = 6.0,
    turnover: bool = False,
    turnover_epoch: Annotated[float, Range(above=0)] = 100.0,
    dormant_epochs: Annotated[int, Range(at_least=1)] = 3,
    seed: Annotated[int, Range(at_least=0)] = 1,
) -> Network:
    """The network with the default schedule as its stimulus (a protocol replaces it)."""
    parameters = {"n_patterns": n_patterns, "pattern_size": pattern_size}
    lines = n_patterns * pattern_size
    net = Network(NAME, seed=seed)
    for label in ("A", "B"):
        net.population(label, lines, parameters=CELL)  # checks its size before the schedule is written out
        net.record(label)
    count = (presentations + 1) * n_patterns
    resources.refuse_above_limit(
        OPERATION_BYTES * count,
        f"model '{NAME}'",
        "n_patterns",
        f"a schedule of {resources.count_text(count)} operations",
    )
    operations = PROTOCOL.parse(training_schedule(n_patterns, presentations), parameters)
    net.duration = PROTOCOL.duration_ms(operations)
    for label, trains in PROTOCOL.stimulus(operations, parameters).items():
        net.spike_source(label, trains)
    net.project("XA", "A", OneToOne(), weight=10.0, label="XA->A")
    net.project("XB", "B", OneToOne(), weight=10.0, label="XB->B")
    net.project(
        "A",
        "B",
        FromList([], []),
        label="A->B",
        structural=CoincidenceWiring(
            s_max=pattern_size,
            tau_coincidence=3.0,
            epoch=20.0,
            form_threshold=5.0,
            elim_threshold=0.5,
            retention=0.95,
            initial_weight=assoc_weight,
        ),
    )
    if turnover:
        for label in ("A", "B"):
            net.turnover(
                label,
                NeuronTurnover(
                    initial_alive=lines,
                    epoch=turnover_epoch,
                    dormant_tau=0.0,
                    dormant_epochs=dormant_epochs,
                    grow_when="starved",
                    grow_count=lines,
                ),
            )
    return net
