"""sPyBlocks logic-gate circuits on SpiNNaker (Ayuso-Martinez et al., IJCNN 2022): gates, latches, memory.

What it is
    The spike-based building blocks of alvayus/sPyBlocks, wired as its ``sPyBlocks/neural_*.py`` wire them,
    in the circuits its test scripts ``tests/<block>/<test>.py`` build, sizes included: ``circuit`` is the
    script's name without ``test_`` (``simple_and``, ``multiple_and``, ``simple_not``, ``multiple_not``,
    ``multiple_or``, ``simple_xor``, ``multiple_xor``, ``simple_latch_sr``, ``multiple_latch_sr``,
    ``simple_latch_d``, ``multiple_latch_d``, ``multiple_latch_d_short``, ``simple_sync_oscillator``,
    ``multiple_sync_oscillator``, ``simple_async_oscillator``, ``multiple_async_oscillator``,
    ``simple_flank_detector``, ``simple_decoder``, ``simple_encoder``, ``simple_encoder_short``,
    ``simple_muxdemux``, ``simple_memory``, ``memory_stress_1_mini``, ``memory_stress_1``), or ``memory``,
    a memory of ``words`` words of ``width`` bits (3 and 3 unless given).

Populations
    ``IN``: the test's input spike sources, one neuron per source, fed by the recording rows ``layout``
    names (``--stimulus`` sets their times; none for the oscillators, which start themselves). ``gates``:
    every IF_curr_exp cell (cm 0.1 nF, tau_m = tau_syn = 0.1 ms, no refractory period, rest and reset
    -65 mV, threshold -64.91 mV: a net 1 nA input fires a cell in the tick it arrives, and is gone the tick
    after). The blocks' own sources keep their fixed times: ``CSS`` (the constant spike source's set spike
    at 1 ms) and ``OSC<p>`` (a synchronous oscillator's set spikes at 1..p ms). ``layout(circuit)`` maps
    each row of the recorded raster to the neurons whose spikes make it (``Code``: a value row the script
    computes from spikes, the memory's registers and decoded channel).

Wiring (weight nA / delay ms; 1/1 unless said)
    OR: inputs excite the cell. AND of n: classic, an OR cell inhibits the output by n-1 and the inputs
    reach the output a tick after the OR; fast, the inputs excite the output directly and the constant
    spike source inhibits it by n-1. NOT: the constant source excites, the input inhibits. Constant spike
    source: its set spike starts a self-exciting cell (an SR latch) that fires every tick after. SR latch: a
    self-exciting cell; set excites, reset inhibits. XOR of n: input cell i excites X cell i and inhibits
    the others. Synchronous oscillator of period p: set spikes excite an input cell, which excites the
    output with delay p, which excites the input with delay p. Asynchronous: an input cell excites a
    self-exciting cycle cell that inhibits it, the input inhibits itself; a signal excites the input and
    inhibits the cycle cell. Flank detector: a NOT of the signal and two classic ANDs of the NOT and the
    signal (delay 1: rising; delay 3: falling). Decoder of n: AND k takes the NOT of each input whose bit
    in k is 0 and, two ticks late, the inputs whose bit is 1; encoder: OR j of the ANDs whose code has bit
    j. D latch: ANDs of data and store (set) and of not-data and store (reset) drive an SR latch.
    Mux/demux: a decoder of the select signals whose ANDs also take a data input; the multiplexer ORs
    them. Memory: a decoder of the address enables a word's D latches (fast ANDs).

Operations (the memories)
    ``{"op": "write", "t": t, "address": a, "data": [bits]}``: address code a (1..words: word a - 1) and
    data for one tick; the word holds the data from t+4 (t+5 on ``simple_memory``) until the next write to
    it; writes may come every tick. The decoder reads the word's latches back at that tick.

Cite A. Ayuso-Martinez, D. Casanueva-Morato, J. P. Dominguez-Morales, A. Jimenez-Fernandez, G. Jimenez-Moreno,
"Spike-based building blocks for performing logic operations using Spiking Neural Networks on SpiNNaker",
IJCNN 2022.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Annotated

import numpy as np

from neurodeploy.description import FromList, Network, values
from neurodeploy.description.semantics import MAX_TICKS
from neurodeploy.description.values import Range
from neurodeploy.errors import ValidationError
from neurodeploy.protocols import OperationProtocol
from neurodeploy.results import SpikeRecord

NAME = "spyblocks"

# The test scripts' IF_curr_exp parameters (all the gate circuits use these).
GATE_CELL = {
    "cm": 0.1,
    "tau_m": 0.1,
    "tau_refrac": 0.0,
    "tau_syn_E": 0.1,
    "tau_syn_I": 0.1,
    "v_rest": -65.0,
    "v_reset": -65.0,
    "v_thresh": -64.91,
    "i_offset": 0.0,
}
EXCITATORY, INHIBITORY = "excitatory", "inhibitory"


class Circuit:
    """Cells, sources and synapses, gathered as sPyBlocks creates them one neuron at a time."""

    def __init__(self):
        self.cells: list[str] = []
        self.sources: dict[str, list[list[float]]] = {}
        self.synapses: list[tuple] = []

    def cell(self, name: str):
        self.cells.append(name)
        return ("gates", len(self.cells) - 1)

    def source(self, label: str, times: list[list[float]]):
        self.sources[label] = times
        return [(label, i) for i in range(len(times))]

    def connect(self, pres, posts, weight=1.0, delay=1.0, receptor=EXCITATORY):
        """Every one of ``pres`` to every one of ``posts`` (sPyBlocks' one-neuron projections)."""
        for pre in pres:
            for post in posts:
                self.synapses.append((pre, post, float(weight), float(delay), receptor))

    def network(self, name: str) -> Network:
        net = Network(name, seed=0)
        for label in sorted(self.sources):  # by name, the order a NIR graph's nodes come back in
            net.spike_source(label, self.sources[label])
        net.population("gates", len(self.cells), parameters=GATE_CELL, initial_values={"v": GATE_CELL["v_rest"]})
        grouped = defaultdict(list)
        for (pre_label, pre), (_, post), weight, delay, receptor in self.synapses:
            grouped[(pre_label, delay, receptor)].append((pre, post, weight))
        for (pre_label, delay, receptor), rows in sorted(grouped.items()):
            pre, post, weight = (np.array(column) for column in zip(*rows))
            net.project(
                pre_label,
                "gates",
                FromList(pre, post),
                weight=weight,
                delay=delay,
                receptor=receptor,
                label=f"{pre_label}->gates({receptor}, {delay:g} ms)",
            )
        for label in (*self.sources, "gates"):
            net.record(label)
        return net


class ConstantSpikeSource:
    def __init__(self, circuit: Circuit):
        self.set_source = circuit.source("CSS", [[1.0]])
        self.latch = LatchSR(circuit, "CSS latch")
        self.latch.set(self.set_source)
        self.outputs = [*self.set_source, self.latch.out]


class LatchSR:
    def __init__(self, circuit: Circuit, name: str):
        self.circuit = circuit
        self.out = circuit.cell(name)
        circuit.connect([self.out], [self.out])

    def set(self, inputs):
        self.circuit.connect(inputs, [self.out])

    def reset(self, inputs):
        self.circuit.connect(inputs, [self.out], receptor=INHIBITORY)


class Or:
    def __init__(self, circuit: Circuit, name: str):
        self.circuit = circuit
        self.out = circuit.cell(name)

    def inputs(self, inputs, weight=1.0, delay=1.0):
        self.circuit.connect(inputs, [self.out], weight, delay)


class And:
    """Classic (an OR inhibits the output) or fast (the constant spike source inhibits it)."""

    def __init__(self, circuit: Circuit, name: str, n_inputs: int, fast: bool = False):
        self.circuit, self.n_inputs, self.fast = circuit, n_inputs, fast
        self.or_gate = None if fast else Or(circuit, f"{name} OR")
        self.out = circuit.cell(name)
        self.delay = 0.0 if fast else 1.0
        if not fast:
            circuit.connect([self.or_gate.out], [self.out], n_inputs - 1, 1.0, INHIBITORY)

    def inputs(self, inputs, weight=1.0, delay=1.0):
        if self.or_gate is not None:
            self.or_gate.inputs(inputs, weight, delay)
        self.circuit.connect(inputs, [self.out], weight, delay + self.delay)

    def inhibition(self, inputs):
        self.circuit.connect(inputs, [self.out], self.n_inputs - 1, 1.0, INHIBITORY)


class Not:
    def __init__(self, circuit: Circuit, name: str):
        self.circuit = circuit
        self.out = circuit.cell(name)

    def excitation(self, inputs):
        self.circuit.connect(inputs, [self.out])

    def inputs(self, inputs, weight=1.0, delay=1.0):
        self.circuit.connect(inputs, [self.out], weight, delay, INHIBITORY)


class Xor:
    def __init__(self, circuit: Circuit, name: str, n_inputs: int):
        self.circuit = circuit
        self.input_cells = [circuit.cell(f"{name} input {i}") for i in range(n_inputs)]
        self.x_cells = [circuit.cell(f"{name} X {i}") for i in range(n_inputs)]
        for i, cell in enumerate(self.input_cells):
            circuit.connect([cell], [self.x_cells[i]])
            circuit.connect([cell], [x for j, x in enumerate(self.x_cells) if j != i], receptor=INHIBITORY)


class SyncOscillator:
    def __init__(self, circuit: Circuit, name: str, period: int):
        set_source = circuit.source(f"OSC{period}", [[float(t) for t in range(1, 1 + period)]])
        self.input_cell = circuit.cell(f"{name} input")
        self.out = circuit.cell(f"{name} output")
        circuit.connect(set_source, [self.input_cell])
        circuit.connect([self.input_cell], [self.out], 1.0, float(period))
        circuit.connect([self.out], [self.input_cell], 1.0, float(period))


class AsyncOscillator:
    def __init__(self, circuit: Circuit, name: str):
        self.circuit = circuit
        self.input_cell = circuit.cell(f"{name} input")
        self.cycle_cell = circuit.cell(f"{name} cycle")
        circuit.connect([self.input_cell], [self.cycle_cell])
        circuit.connect([self.cycle_cell], [self.input_cell], receptor=INHIBITORY)
        circuit.connect([self.input_cell], [self.input_cell], receptor=INHIBITORY)
        circuit.connect([self.cycle_cell], [self.cycle_cell])

    def signal(self, inputs):
        self.circuit.connect(inputs, [self.input_cell])
        self.circuit.connect(inputs, [self.cycle_cell], receptor=INHIBITORY)


class FlankDetector:
    def __init__(self, circuit: Circuit, name: str):
        self.not_gate = Not(circuit, f"{name} NOT")
        self.rising = And(circuit, f"{name} rising", 2)
        self.falling = And(circuit, f"{name} falling", 2)
        for gate in (self.rising, self.falling):
            gate.inputs([self.not_gate.out])

    def constant_spikes(self, inputs):
        self.not_gate.excitation(inputs)

    def inputs(self, inputs):
        self.not_gate.inputs(inputs)
        self.rising.inputs(inputs, delay=1.0)
        self.falling.inputs(inputs, delay=3.0)


class Decoder:
    """n inputs, 2^n ANDs: AND k takes the NOT of every input whose bit in k is 0 (one tick) and the input
    itself where the bit is 1 (two ticks, arriving with the NOT path); every NOT is fed the constant spikes."""

    def __init__(self, circuit: Circuit, name: str, n_inputs: int, fast: bool = False):
        self.circuit, self.n_inputs, self.fast = circuit, n_inputs, fast
        self.not_gates = [Not(circuit, f"{name} NOT {i}") for i in range(n_inputs)]
        self.and_gates = [And(circuit, f"{name} AND {k}", n_inputs, fast) for k in range(2**n_inputs)]
        for i, gate in enumerate(self.not_gates):
            for k in _codes(2**n_inputs, i, 0):
                self.and_gates[k].inputs([gate.out])

    def constant_spikes(self, inputs):
        for gate in self.not_gates:
            gate.excitation(inputs)
        if self.fast:
            for gate in self.and_gates:
                gate.inhibition(inputs)

    def inputs(self, sources):
        """Input ``i`` from ``sources[i]``."""
        for i, source in enumerate(sources):
            self.not_gates[i].inputs([source])
            for k in _codes(2**self.n_inputs, i, 1):
                self.and_gates[k].inputs([source], delay=2.0)


def _codes(n_values: int, bit: int, value: int) -> list[int]:
    """The codes below ``n_values`` whose ``bit`` is ``value`` (sPyBlocks' truth-table column)."""
    return [k for k in range(n_values) if (k >> bit) & 1 == value]


class LatchD:
    """Two 2-input ANDs setting (data and store) and resetting (not-data and store) an SR latch; with its own
    NOT of the data, the data and store signals come a tick later (with the NOT's output)."""

    def __init__(self, circuit: Circuit, name: str, fast: bool = False, include_not: bool = True):
        self.circuit, self.fast = circuit, fast
        self.not_gate = Not(circuit, f"{name} NOT") if include_not else None
        self.set_gate = And(circuit, f"{name} AND S", 2, fast)
        self.reset_gate = And(circuit, f"{name} AND RS", 2, fast)
        self.latch = LatchSR(circuit, f"{name} latch")
        if self.not_gate is not None:
            self.reset_gate.inputs([self.not_gate.out])
        self.latch.set([self.set_gate.out])
        self.latch.reset([self.reset_gate.out])
        self.lag = 1.0 if include_not else 0.0

    def constant_spikes(self, inputs):
        if self.not_gate is not None:
            self.not_gate.excitation(inputs)
        if self.fast:
            for gate in (self.set_gate, self.reset_gate):
                self.circuit.connect(inputs, [gate.out], 1.0, 1.0, INHIBITORY)

    def data(self, inputs, delay=1.0):
        if self.not_gate is not None:
            self.not_gate.inputs(inputs, delay=delay)
        self.set_gate.inputs(inputs, delay=delay + self.lag)

    def not_data(self, inputs, delay=1.0):
        self.reset_gate.inputs(inputs, delay=delay)

    def signal(self, inputs, delay=1.0):
        for gate in (self.set_gate, self.reset_gate):
            gate.inputs(inputs, delay=delay + self.lag)


class MuxDemux:
    """n select signals decoded as by the decoder, each AND also taking a data input (two ticks); a
    multiplexer ORs the ANDs, a demultiplexer's ANDs are its outputs."""

    def __init__(self, circuit: Circuit, name: str, n_select: int, mux: bool):
        self.circuit = circuit
        self.not_gates = [Not(circuit, f"{name} NOT {i}") for i in range(n_select)]
        self.and_gates = [And(circuit, f"{name} AND {k}", n_select + 1) for k in range(2**n_select)]
        self.or_gate = Or(circuit, f"{name} OR") if mux else None
        for i, gate in enumerate(self.not_gates):
            for k in _codes(2**n_select, i, 0):
                self.and_gates[k].inputs([gate.out])
        if mux:
            for gate in self.and_gates:
                self.or_gate.inputs([gate.out])
        self.n_select = n_select

    def constant_spikes(self, inputs):
        for gate in self.not_gates:
            gate.excitation(inputs)

    def signals(self, sources):
        for i, source in enumerate(sources):
            self.not_gates[i].inputs([source])
            for k in _codes(2**self.n_select, i, 1):
                self.and_gates[k].inputs([source], delay=2.0)

    def inputs(self, sources_per_and):
        for gate, sources in zip(self.and_gates, sources_per_and):
            gate.inputs(sources, delay=2.0)


class Memory:
    """``n_dir`` words of ``width`` bits in D latches (fast ANDs): a decoder of the address selects a word's
    latches. The current sPyBlocks memory gives the latches no NOT of their own and feeds their reset ANDs
    from one NOT per data bit; the earlier one (``own_not``, which ``test_simple_memory.py`` reads: it records
    each latch's ``not_gate``) uses D latches with their own NOT, a tick slower from the decoder to the
    latch outputs."""

    def __init__(self, circuit: Circuit, name: str, n_dir: int, width: int, own_not: bool = False):
        self.circuit, self.n_dir, self.width, self.own_not = circuit, n_dir, width, own_not
        self.decoder = Decoder(circuit, f"{name} decoder", n_dir.bit_length(), fast=True)
        self.not_gates = [] if own_not else [Not(circuit, f"{name} NOT {j}") for j in range(width)]
        self.latches = [
            LatchD(circuit, f"{name} word {i} bit {j}", fast=True, include_not=own_not)
            for i in range(n_dir)
            for j in range(width)
        ]
        for index, latch in enumerate(self.latches):
            if not own_not:
                latch.not_data([self.not_gates[index % width].out])
            latch.signal([self.decoder.and_gates[index // width + 1].out])

    def constant_spikes(self, inputs):
        self.decoder.constant_spikes(inputs)
        for gate in self.not_gates:
            gate.excitation(inputs)
        for latch in self.latches:
            latch.constant_spikes(inputs)

    def data(self, sources):
        """Data bit ``j`` from ``sources[j]`` (none where it is None): to the latches three ticks later (after
        the decoder), to the bit's NOT two ticks later."""
        for j, source in enumerate(sources):
            if source is None:
                continue
            for latch in self.latches[j :: self.width]:
                latch.data([source], delay=3.0)
            if not self.own_not:
                self.not_gates[j].inputs([source], delay=2.0)

    def signals(self, sources):
        self.decoder.inputs(sources)

    def value_rows(self) -> dict:
        codes = range(1, 2**self.decoder.n_inputs)
        rows = {"Channel (Decoder)": Code([self.decoder.and_gates[k].out for k in codes], list(codes), "largest")}
        for i in range(self.n_dir):
            bits = [latch.latch.out for latch in self.latches[i * self.width : (i + 1) * self.width]]
            rows[f"Register {i} value"] = Code(bits, [2**j for j in range(self.width)], "hex")
        return rows


class Code:
    """A row the test scripts write as a value per ms computed from spikes (``printRow``): ``"flag"``, 1 in
    every ms where one of ``neurons`` spiked and 0 in the others (a gate's OUTPUT); else empty where none
    spiked and, where some did, the sum of their ``weights`` in hex (``"hex"``: a register's bits) or the
    largest one's weight (``"largest"``: the decoder's channel)."""

    def __init__(self, neurons, weights=None, form: str = "flag"):
        self.neurons, self.weights, self.form = neurons, weights or [1] * len(neurons), form

    def read(self, spikes: SpikeRecord) -> dict[int, str]:
        """The row's values by ms, as the script writes them from these spikes."""
        spiking: dict[int, list] = {}
        for (population, i), weight in zip(self.neurons, self.weights):
            for tick in spikes.ticks(population)[i].tolist():
                spiking.setdefault(int(tick), []).append(weight)
        if self.form == "flag":
            return {tick: "1" if tick in spiking else "0" for tick in range(round(spikes.duration_ms / spikes.dt_ms))}
        if self.form == "hex":
            return {tick: hex(sum(weights)) for tick, weights in spiking.items()}
        return {tick: str(max(weights)) for tick, weights in spiking.items()}


def _times(n_sources: int) -> list[list[float]]:
    return [[] for _ in range(n_sources)]


def _simple_and(c):
    src = c.source("IN", _times(3))
    classic, fast, css = And(c, "classic AND", 4), And(c, "fast AND", 4, fast=True), ConstantSpikeSource(c)
    for gate in (classic, fast):
        gate.inputs([src[0]], weight=2.0)
        gate.inputs(src[1:])
    fast.inhibition(css.outputs)
    rows = {
        "OR response (Classic AND)": [classic.or_gate.out],
        "AND response (Classic AND)": [classic.out],
        "Inhibitory spikes (Fast AND)": css.outputs,
        "AND response (Fast AND)": [fast.out],
    }
    return ["Input signal 3", "Input signal 1", "Input signal 0"], {"Input signal 2": 0}, rows


def _multiple_and(c):
    src = c.source("IN", _times(3))
    classic = [And(c, f"classic AND {i}", 3) for i in range(3)]
    fast = [And(c, f"fast AND {i}", 3, fast=True) for i in range(3)]
    css = ConstantSpikeSource(c)
    for gates in (classic, fast):
        gates[0].inputs(src)
        gates[1].inputs([src[1]])
        gates[2].inputs([src[2]])
    for gate in fast:
        gate.inhibition(css.outputs)
    rows = {"Constant spike source (Set)": css.set_source, "Constant spike source (FF)": [css.latch.out]}
    rows |= {f"Output neuron response (Classic AND {i})": [g.out] for i, g in enumerate(classic)}
    rows |= {f"Output neuron response (Fast AND {i})": [g.out] for i, g in enumerate(fast)}
    return ["Input signal 2", "Input signal 1", "Input signal 0"], {}, rows


def _not_circuit(n_gates, inverted):
    def build(c):
        src = c.source("IN", _times(1))
        css = ConstantSpikeSource(c)
        gates = [Not(c, f"NOT {i}") for i in range(n_gates)]
        for i, gate in enumerate(gates):
            if i in inverted:
                gate.inputs(src)
            gate.excitation(css.outputs)
        rows = {"Constant spike source (Set)": css.set_source, "Constant spike source (FF)": [css.latch.out]}
        if n_gates == 1:
            rows["NOT response"] = [gates[0].out]
        else:
            rows |= {f"NOT response (gate {i})": [g.out] for i, g in enumerate(gates)}
        return ["Input signal"], {}, rows

    return build


def _multiple_or(c):
    src = c.source("IN", _times(2))
    gates = [Or(c, f"OR {i}") for i in range(6)]
    for offset in (0, 3):  # the script feeds gates 0-2 from the population, 3-5 from its views: the same
        gates[offset + 1].inputs(src[:1])
        gates[offset + 2].inputs(src)
    return ["Spike source 0", "Spike source 1"], {}, {f"OR response (gate {i})": [g.out] for i, g in enumerate(gates)}


def _simple_latch_sr(c):
    src = c.source("IN", _times(2))
    latch = LatchSR(c, "FF")
    latch.set(src[:1])
    latch.reset(src[1:])
    return ["Set signal", "Reset times"], {}, {"FF output neuron": [latch.out]}


def _multiple_latch_sr(c):
    src = c.source("IN", _times(3))  # two set sources with the same times, one reset source
    latches = [LatchSR(c, f"FF{i}") for i in range(6)]
    latches[0].set(src[:1])
    latches[3].set(src[1:2])
    latches[1].set(src[:1])
    latches[3].reset(src[2:])
    return ["Set signal", "Set signal", "Reset times"], {}, {f"FF{i} spikes": [g.out] for i, g in enumerate(latches)}


def _simple_xor(c):
    src = c.source("IN", _times(4))
    gate = Xor(c, "XOR", 4)
    for k in range(4):
        c.connect([src[k]], [gate.input_cells[k]])
    rows = {}
    for i in range(4):
        rows[f"Input neuron (neuron {i})"] = [gate.input_cells[i]]
        rows[f"X neuron (neuron {i})"] = [gate.x_cells[i]]
    rows["OUTPUT"] = Code(gate.x_cells)
    return [f"Input signal {k}" for k in range(4)], {}, rows


def _multiple_xor(c):
    src = c.source("IN", _times(1))
    gates = [Xor(c, f"XOR {i}", 3) for i in range(2)]
    for gate, ones in zip(gates, ([2], [0, 2])):
        c.connect(src, [gate.input_cells[j] for j in ones])
    rows = {}
    for i, gate in enumerate(gates):
        for j in range(3):
            rows[f"Input neuron {j} gate {i}"] = [gate.input_cells[j]]
            rows[f"X neuron {j} gate {i}"] = [gate.x_cells[j]]
        rows[f"OUTPUT gate {i}"] = Code(gate.x_cells)
    return ["Input signal"], {}, rows


def _simple_sync_oscillator(c):
    c.source("IN", [])
    osc = SyncOscillator(c, "oscillator", 2)
    return [], {}, {"Input spikes": [osc.input_cell], "Output spikes": [osc.out], "OUTPUT": Code([osc.out])}


def _multiple_sync_oscillator(c):
    c.source("IN", [])
    oscillators = [SyncOscillator(c, f"oscillator {i}", 2**i) for i in range(5)]
    return [], {}, {f"Output spikes (oscillator {i})": [o.out] for i, o in enumerate(oscillators)}


def _simple_async_oscillator(c):
    src = c.source("IN", _times(1))
    osc = AsyncOscillator(c, "oscillator")
    osc.signal(src)
    rows = {
        "Input neuron": [osc.input_cell],
        "Cycle neuron": [osc.cycle_cell],
        "OUTPUT": [osc.input_cell, osc.cycle_cell],
    }
    return ["Change signal"], {}, rows


def _multiple_async_oscillator(c):
    src = c.source("IN", _times(4))
    oscillators = [AsyncOscillator(c, f"oscillator {i}") for i in range(4)]
    rows = {}
    for i, osc in enumerate(oscillators):
        osc.signal([src[i]])
        rows[f"Input neuron response (oscillator {i})"] = [osc.input_cell]
        rows[f"Cycle neuron response (oscillator {i})"] = [osc.cycle_cell]
        rows[f"Total response (oscillator {i})"] = [osc.input_cell, osc.cycle_cell]
    return [f"Input signal {k}" for k in range(1, 5)], {}, rows


def _simple_flank_detector(c):
    c.source("IN", [])
    clock = SyncOscillator(c, "clock", 3)
    detector = FlankDetector(c, "flank")
    css = ConstantSpikeSource(c)
    detector.inputs([clock.out])
    detector.constant_spikes(css.outputs)
    rows = {
        "Clock signal": [clock.out],
        "NOT response": [detector.not_gate.out],
        "Rising edges": [detector.rising.out],
        "Falling edges": [detector.falling.out],
    }
    return [], {}, rows


def _decoder_circuit(encoder: bool, labels):
    def build(c):
        src = c.source("IN", _times(3))
        decoder = Decoder(c, "decoder", 3)
        css = ConstantSpikeSource(c)
        decoder.constant_spikes(css.outputs)
        decoder.inputs(src)
        if not encoder:
            rows = {f"NOT response (gate {i})": [g.out] for i, g in enumerate(decoder.not_gates)}
            rows |= {f"AND response (gate {k})": [g.out] for k, g in enumerate(decoder.and_gates)}
            return labels, {}, rows
        outputs = [Or(c, f"encoder OR {j}") for j in range(3)]
        for k, gate in enumerate(decoder.and_gates):
            for j in range(3):
                if k >> j & 1:
                    outputs[j].inputs([gate.out])
        rows = {f"Decoder response (AND gate {k})": [g.out] for k, g in enumerate(decoder.and_gates)}
        rows |= {f"Encoder response (OR gate {j})": [g.out] for j, g in enumerate(outputs)}
        return labels, {}, rows

    return build


def _simple_latch_d(c):
    src = c.source("IN", _times(2))
    latch = LatchD(c, "latch", fast=True)
    css = ConstantSpikeSource(c)
    latch.constant_spikes([css.latch.out])
    latch.data(src[:1])
    latch.signal(src[1:])
    rows = {
        "NOT response": [latch.not_gate.out],
        "AND response (S)": [latch.set_gate.out],
        "AND response (RS)": [latch.reset_gate.out],
        "Latch output neuron": [latch.latch.out],
    }
    return ["Data signal", "Store signal"], {}, rows


def _multiple_latch_d(c):
    src = c.source("IN", _times(3))
    latches = [LatchD(c, f"latch {i}", fast=True) for i in range(6)]
    css = ConstantSpikeSource(c)
    for i, latch in enumerate(latches):
        latch.constant_spikes([css.latch.out])
        latch.data([src[i // 3]])
        latch.signal(src[2:])
    rows = {f"FF{i} spikes": [latch.latch.out] for i, latch in enumerate(latches)}
    return ["Data signal 1", "Data signal 2", "Store signal"], {}, rows


def _multiple_latch_d_short(c):
    src = c.source("IN", _times(3))
    latches = [LatchD(c, f"latch {i}", include_not=False) for i in range(6)]
    not_gates = [Not(c, f"NOT {i}") for i in range(2)]
    css = ConstantSpikeSource(c)
    for i, gate in enumerate(not_gates):
        gate.excitation(css.outputs)
        gate.inputs([src[i]])
    for i, latch in enumerate(latches):
        latch.constant_spikes([css.latch.out])
        latch.not_data([not_gates[i // 3].out])
        latch.data([src[i // 3]], delay=2.0)
        latch.signal(src[2:], delay=2.0)
    rows = {f"NOT response (gate {i})": [g.out] for i, g in enumerate(not_gates)}
    rows |= {f"Latch {i} spikes": [latch.latch.out] for i, latch in enumerate(latches)}
    return ["Data signal 1", "Data signal 2", "Store signal"], {}, rows


def _simple_muxdemux(c):
    src = c.source("IN", _times(6))  # select 0, select 1, data 0..3
    mux, demux = MuxDemux(c, "MUX", 2, mux=True), MuxDemux(c, "DEMUX", 2, mux=False)
    css = ConstantSpikeSource(c)
    for block in (mux, demux):
        block.constant_spikes(css.outputs)
        block.signals(src[:2])
    mux.inputs([[source] for source in src[2:]])
    demux.inputs([[mux.or_gate.out]] * 4)
    # The script reads its "DEMUX" rows from the multiplexer's gates too (a copy of the MUX lines), and
    # writes "Multiplexer response" over the row of "MUX AND (gate 0)".
    rows = {}
    for block in ("MUX", "DEMUX"):
        rows |= {f"{block} NOT (gate {i})": [g.out] for i, g in enumerate(mux.not_gates)}
        first = 1 if block == "MUX" else 0
        rows |= {f"{block} AND (gate {k})": [g.out] for k, g in enumerate(mux.and_gates) if k >= first}
    rows["Multiplexer response"] = [mux.or_gate.out]
    inputs = ["Select signal 0", "Select signal 1", *(f"Input signal {k}" for k in range(4))]
    return inputs, {}, rows


MEMORIES = {
    "simple_memory": {"n_dir": 7, "width": 4, "data_bits": 2, "own_not": True},
    "memory_stress_1_mini": {"n_dir": 3, "width": 3, "data_bits": 3, "own_not": False},
    "memory_stress_1": {"n_dir": 15, "width": 8, "data_bits": 8, "own_not": False},
}
"""The memory circuits: words, bits per word, data bits the script connects, and whether its latches have
their own NOT (the earlier memory)."""


def _memory_circuit(n_dir, width, data_bits, own_not):
    def build(c):
        n_signals = n_dir.bit_length()
        src = c.source("IN", _times(n_signals + data_bits))  # address signals, then data bits
        memory = Memory(c, "memory", n_dir, width, own_not)
        css = ConstantSpikeSource(c)
        memory.constant_spikes(css.outputs)
        memory.data([*src[n_signals:], *([None] * (width - data_bits))])
        memory.signals(src[:n_signals])
        labels = [*(f"Signal {i}" for i in range(n_signals)), *(f"Data bit {j}" for j in range(data_bits))]
        return labels, {}, memory.value_rows()

    return build


CIRCUITS = {
    "simple_and": _simple_and,
    "multiple_and": _multiple_and,
    "simple_not": _not_circuit(1, {0}),
    "multiple_not": _not_circuit(6, {0, 2, 5}),
    "multiple_or": _multiple_or,
    "simple_latch_sr": _simple_latch_sr,
    "multiple_latch_sr": _multiple_latch_sr,
    "simple_xor": _simple_xor,
    "multiple_xor": _multiple_xor,
    "simple_sync_oscillator": _simple_sync_oscillator,
    "multiple_sync_oscillator": _multiple_sync_oscillator,
    "simple_async_oscillator": _simple_async_oscillator,
    "multiple_async_oscillator": _multiple_async_oscillator,
    "simple_flank_detector": _simple_flank_detector,
    "simple_decoder": _decoder_circuit(False, ["Input signal 0", "Input signal 1", "Input signal 2"]),
    "simple_encoder": _decoder_circuit(True, ["Input signal 0", "Input signal 1", "Input signal 2"]),
    "simple_encoder_short": _decoder_circuit(True, ["Input signal 0", "Input signal 1", "Input signal 2"]),
    "simple_latch_d": _simple_latch_d,
    "multiple_latch_d": _multiple_latch_d,
    "multiple_latch_d_short": _multiple_latch_d_short,
    "simple_muxdemux": _simple_muxdemux,
    **{name: _memory_circuit(**memory) for name, memory in MEMORIES.items()},
}
"""The sPyBlocks test circuits, by the test script's name without ``test_``."""

DURATION_MS = {
    "simple_and": 50.0,
    "multiple_and": 10.0,
    "simple_not": 100.0,
    "multiple_not": 100.0,
    "multiple_or": 20.0,
    "simple_latch_sr": 100.0,
    "multiple_latch_sr": 100.0,
    "simple_xor": 10.0,
    "multiple_xor": 10.0,
    "simple_sync_oscillator": 20.0,
    "multiple_sync_oscillator": 100.0,
    "simple_async_oscillator": 30.0,
    "multiple_async_oscillator": 10.0,
    "simple_flank_detector": 30.0,
    "simple_decoder": 200.0,
    "simple_encoder": 200.0,
    "simple_encoder_short": 27.0,
    "simple_latch_d": 100.0,
    "multiple_latch_d": 100.0,
    "multiple_latch_d_short": 14.0,
    "simple_muxdemux": 100.0,
    "simple_memory": 100.0,
    "memory_stress_1_mini": 50.0,
    "memory_stress_1": 1000.0,
}
"""Each test script's ``simtime``: the network's duration."""


GENERIC_MEMORY = "memory"
"""A memory of any size (``words``, ``width``; 3 by 3 unless given), as the current sPyBlocks builds it."""


def memory_shape(parameters: dict) -> dict | None:
    """The memory a circuit's parameters build (words, width, data bits fed, own NOTs), or None."""
    circuit = parameters.get("circuit")
    if circuit == GENERIC_MEMORY:
        words, width = parameters.get("words") or 3, parameters.get("width") or 3
        return {"n_dir": words, "width": width, "data_bits": width, "own_not": False}
    return MEMORIES.get(circuit)


def layout(circuit: str, words: int | None = None, width: int | None = None):
    """``(inputs, duplicates, rows)``: the recording row feeding each ``IN`` neuron; rows repeating an
    ``IN`` neuron's times (row -> neuron); each recorded block row -> the ``(population, neuron)`` whose
    spikes (together) make it. A generic memory's rows are named as the memory tests name them."""
    return _builder(circuit, words, width)(Circuit())


def _builder(circuit: str, words: int | None, width: int | None):
    if circuit == GENERIC_MEMORY:
        return _memory_circuit(**memory_shape({"circuit": circuit, "words": words, "width": width}))
    return CIRCUITS[circuit]


def build(
    circuit: str = "simple_and",
    words: Annotated[int, Range(at_least=1)] | None = None,
    width: Annotated[int, Range(at_least=1)] | None = None,
) -> Network:
    where = f"model '{NAME}'"
    if circuit not in CIRCUITS and circuit != GENERIC_MEMORY:
        known = ", ".join([*CIRCUITS, GENERIC_MEMORY])
        raise ValidationError(where, "circuit", f"must be one of {known}, got {circuit!r}")
    if circuit != GENERIC_MEMORY and (words is not None or width is not None):
        raise ValidationError(
            where, "words" if words is not None else "width", f"sizes only circuit '{GENERIC_MEMORY}'"
        )
    c = Circuit()
    _builder(circuit, words, width)(c)
    if not c.sources.get("IN"):
        c.sources.pop("IN", None)
    network = c.network(f"{NAME}-{circuit.replace('_', '-')}")
    network.duration = DURATION_MS.get(circuit)
    return network


@dataclass(frozen=True)
class Write:
    t: int
    address: int
    data: list

    def to_dict(self) -> dict:
        return {"op": "write", **asdict(self)}


class MemoryProtocol(OperationProtocol):
    """Writes to a memory circuit: ``{"op": "write", "t": t, "address": a, "data": [bits]}`` presents the
    address code ``a`` (1..n_dir, the channel of word ``a - 1``) and the data bits set for one tick; the word
    holds the data (every bit not listed cleared) from ``t + latency`` (4 ticks; 5 for ``simple_memory``'s
    earlier latches) until the next write to it. Writes may follow each other every tick, as in the stress
    tests. The decoder reads the written word's latches at ``t + latency``: the data, if the memory works."""

    def _memory(self, parameters) -> dict:
        memory = memory_shape(parameters)
        if memory is None:
            memories = ", ".join([*MEMORIES, GENERIC_MEMORY])
            raise ValidationError(
                "option --protocol", None, f"circuit {parameters.get('circuit')!r} has no operations: only {memories}"
            )
        return memory

    @staticmethod
    def latency(memory: dict) -> int:
        return 5 if memory["own_not"] else 4

    def parse(self, data, parameters):
        memory = self._memory(parameters)
        if not isinstance(data, list):
            raise ValidationError("protocol", None, "expected a list of operations")
        operations, last = [], -1
        for index, item in enumerate(data):
            where = f"protocol operation {index}"
            if not isinstance(item, dict):
                raise ValidationError(where, None, "expected an object")
            values.check_keys(item, ("op", "t", "address", "data"), where, required=("op", "t", "address", "data"))
            if item["op"] != "write":
                raise ValidationError(where, "op", f"expected 'write', got {item['op']!r}")
            t = values.integer(item["t"], where, "t", minimum=1, maximum=MAX_TICKS)
            where = f"protocol operation {index} (write at t={t} ms)"
            if t <= last:
                raise ValidationError(where, "t", f"comes at or before the previous write ({last} ms)")
            address = values.integer(item["address"], where, "address", minimum=1, maximum=memory["n_dir"])
            if not isinstance(item["data"], list):
                raise ValidationError(where, "data", "expected a list of data-bit indices")
            bits = sorted({values.integer(b, where, "data", minimum=0) for b in item["data"]})
            if bits and bits[-1] >= memory["data_bits"]:
                raise ValidationError(
                    where,
                    "data",
                    f"bit {bits[-1]} is out of range: the circuit feeds bits 0..{memory['data_bits'] - 1}",
                )
            operations.append(Write(t, address, bits))
            last = t
        return operations

    def stimulus(self, operations, parameters):
        memory = self._memory(parameters)
        n_signals = memory["n_dir"].bit_length()
        trains = [[] for _ in range(n_signals + memory["data_bits"])]
        for operation in operations:
            neurons = [i for i in range(n_signals) if operation.address >> i & 1]
            for neuron in neurons + [n_signals + bit for bit in operation.data]:
                trains[neuron].append(float(operation.t))
        return {"IN": trains}

    def duration_ms(self, operations):
        return float(operations[-1].t + 8) if operations else 8.0

    def decode(self, operations, spikes: SpikeRecord, parameters):
        memory = self._memory(parameters)
        latency, width = self.latency(memory), memory["width"]
        _, _, rows = layout(parameters["circuit"], parameters.get("words"), parameters.get("width"))
        firing = {}
        for word in range(memory["n_dir"]):
            bits = rows[f"Register {word} value"].neurons
            firing[word] = [set(spikes.ticks(population)[i].tolist()) for population, i in bits]
        answers = []
        for operation in operations:
            tick, word = operation.t + latency, operation.address - 1
            read = [bit for bit in range(width) if tick in firing[word][bit]]
            answers.append({**operation.to_dict(), "read_at": tick, "read": read, "agrees": read == operation.data})
        return {
            "model": NAME,
            "circuit": parameters["circuit"],
            "operations": answers,
            "summary": {"operations": len(answers), "agree": sum(a["agrees"] for a in answers)},
        }

    def table(self, answers):
        rows = [f"{'#':>3} {'t ms':>5}  {'write':<28} {'read back':<20} verdict"]
        for index, item in enumerate(answers["operations"]):
            write = f"word {item['address'] - 1} = {item['data']}"
            verdict = "same" if item["agrees"] else f"DIFFERS: wrote {item['data']}"
            rows.append(f"{index:>3} {item['t']:>5}  {write:<28} {str(item['read']):<20} {verdict}")
        summary = answers["summary"]
        rows.append(f"writes read back as written: {summary['agree']}/{summary['operations']}")
        return "\n".join(rows)


PROTOCOL = MemoryProtocol()
