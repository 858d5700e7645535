"""A description as a PyNN script a person would write (``import pyNN.spiNNaker as sim``): the inverse of
``neurodeploy.pynn``, which turns the script back into the same description.

Populations become ``sim.Population(n, sim.IF_curr_exp(tau_m=...))`` with every parameter and initial value
written out (per-neuron values in a ``.npy`` file beside the script); spike sources ``SpikeSourceArray``
(their times in a JSON file beside it unless they are few); projections ``OneToOneConnector`` or
``AllToAllConnector`` where the description's connector means what PyNN's does between whole populations
with one weight and delay, else a ``FromListConnector`` of exactly the description's connections (in a
``.npy`` file unless they are few; PyNN's own draw of a FixedProbability would give other synapses);
STDP as sPyNNaker's ``STDPMechanism`` (``SpikePairRule`` or ``extra_models.SpikeNearestPairRule``,
``AdditiveWeightDependence`` or ``MultiplicativeWeightDependence``), synaptogenesis as its
``StructuralMechanismStatic``/``StructuralMechanismSTDP``; recordings as ``record`` calls; then the run.

What PyNN cannot state is refused, naming it: semantics other than PyNN's (reset by subtraction, euler,
threshold ``>``, ...), STDP timing other than sPyNNaker's, a chip's arithmetic, cells PyNN has no model
for, coincidence wiring and neuron turnover."""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.description import STDP, AllToAll, Network, OneToOne, Semantics
from neurodeploy.description.plasticity import STDPSemantics
from neurodeploy.description.structural import Synaptogenesis
from neurodeploy.errors import ValidationError

SCRIPT = "pynn_script.py"
MARKER = "# Written by `neurodeploy export --to pynn`"
"""The script's second line: an export replaces a folder's script only when it carries this line."""
INITIAL_VALUES = {
    "IF_curr_exp": ("v", "isyn_exc", "isyn_inh"),
    "IF_cond_exp": ("v", "gsyn_exc", "gsyn_inh"),
    "IF_curr_delta": ("v",),
    "Izhikevich": ("v", "u"),
}
"""PyNN's cell models by the description's cell type, with the initial values PyNN's model has."""
LAST_TICK = 2**32 - 2
"""The tick a source without a stop stops at: one sPyNNaker's 32-bit tick counter never reaches."""
ALWAYS_INITIALIZED = ("v", "u")
"""The initial values always written; the synaptic ones (PyNN starts them at zero) only when not zero."""
INLINE_VALUES = 8
"""Per-neuron values, spike times or connection rows up to this many are written in the script."""
TRACES = {"all_to_all": "sim.SpikePairRule", "nearest_spynnaker": "sim.extra_models.SpikeNearestPairRule"}
WEIGHT_DEPENDENCES = {
    "additive": "sim.AdditiveWeightDependence",
    "multiplicative": "sim.MultiplicativeWeightDependence",
}
PARTNER_SELECTIONS = {"last_neuron": "sim.LastNeuronSelection()", "random": "sim.RandomSelection()"}


@dataclass(eq=False)
class Export:
    """The script's text and the data files beside it (file name -> array, or JSON-able for spike times)."""

    script: str
    files: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def write(self, directory) -> list[str]:
        """Write the script and its files into ``directory`` (an empty folder: see the CLI's staging)."""
        directory = Path(directory)
        for name, data in self.files.items():
            if name.endswith(".npy"):
                np.save(directory / name, data)
            else:
                (directory / name).write_text(json.dumps(data) + "\n")
        (directory / SCRIPT).write_text(self.script)
        return [SCRIPT, *self.files]


def refuse(what: str, why: str) -> ValidationError:
    return ValidationError("export to PyNN", None, f"{what}: {why}")


def to_script(
    network: Network, duration: float | None = None, required_duration: bool = False, after_run: tuple[str, ...] = ()
) -> Export:
    """``network`` as a PyNN script running ``duration`` ms (default: the network's own; with
    ``required_duration`` the script's ``--duration`` is required instead). ``after_run`` are lines the script
    runs after ``sim.run`` (``{populations}`` in them: the tuple of every population), ``--NAME`` options
    they read (``arguments.NAME``) added to the script's."""
    duration = network.duration if duration is None else duration
    if duration is None and not required_duration:
        raise refuse(f"network '{network.name}'", "has no duration: give --duration")
    _refuse_semantics(network)
    writer = _Writer(network)
    for source in network.spike_sources.values():
        writer.spike_source(source)
    for population in network.populations.values():
        writer.population(population)
    for projection in network.projections.values():
        writer.projection(projection)
    for injection in network.injections.values():
        writer.current_source(injection)
    writer.recordings()
    return writer.finish(None if required_duration else duration, after_run)


def _refuse_semantics(network: Network):
    pynn = Semantics(dt=network.semantics.dt).to_dict()
    for name, value in network.semantics.to_dict().items():
        if value != pynn[name]:
            raise refuse(f"semantics {name} {value!r}", f"PyNN states only {pynn[name]!r}")
    if network.turnovers:
        raise refuse(f"neuron turnover on {', '.join(network.turnovers)}", "PyNN has no neuron turnover")
    if network.changes:
        raise refuse("the schedule of parameter and weight changes", "the export writes one run (not yet run/set/run)")


class _Writer:
    def __init__(self, network: Network):
        self.network = network
        self.dt = network.semantics.dt
        self.lines: list[str] = []
        self.files: dict[str, object] = {}
        self.notes: list[str] = []
        self.names: dict[str, str] = {}

    def name(self, label: str) -> str:
        """A Python name for a population's variable, unique in the script."""
        name = re.sub(r"\W", "_", label).strip("_") or "population"
        name = f"p_{name}" if name[0].isdigit() or keyword.iskeyword(name) or name in RESERVED else name
        taken = set(self.names.values())
        unique, count = name, 1
        while unique in taken:
            count += 1
            unique = f"{name}_{count}"
        self.names[label] = unique
        return unique

    def file_name(self, label: str, what: str) -> str:
        stem = re.sub(r"[^\w.-]", "_", label)
        name, count = f"{stem}.{what}", 1
        while name in self.files:
            count += 1
            name = f"{stem}_{count}.{what}"
        return name

    def values(self, label: str, name: str, value) -> str:
        """A parameter or initial value as script text: a number, a short list, or a file beside it."""
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            return _number(array)
        if np.all(array == array[0]):
            return _number(array[0])
        if array.size <= INLINE_VALUES:
            return "[" + ", ".join(_number(v) for v in array) + "]"
        file = self.file_name(label, f"{name}.npy")
        self.files[file] = array
        return f'np.load(HERE / "{file}")'

    def spike_source(self, source):
        name = self.name(source.label)
        trains = [np.asarray(t, dtype=float) for t in source.spike_times]
        if not any(t.size for t in trains):
            times = "[]"  # none for every neuron (sPyNNaker 7.4.1 fails on a list of empty lists)
        elif sum(t.size for t in trains) <= INLINE_VALUES:
            times = Call(
                "", ["[" + ", ".join(_number(t) for t in train) + "]" for train in trains], "[]", "spike_times"
            )
        else:
            file = self.file_name(source.label, "spike_times.json")
            self.files[file] = [train.tolist() for train in trains]
            times = f'json.loads((HERE / "{file}").read_text())'
        cell = Call(
            "sim.SpikeSourceArray",
            [times if isinstance(times, Call) else f"spike_times={times}"],
        )
        self.statement(Call("sim.Population", [str(source.size), cell, f"label={_text(source.label)}"]), f"{name} = ")

    def population(self, population):
        where = f"population '{population.label}'"
        if population.cell_type not in INITIAL_VALUES:
            raise refuse(where, f"PyNN has no model of the cell type {population.cell_type}")
        if population.arithmetic is not None:
            raise refuse(where, f"its {type(population.arithmetic).__name__} arithmetic is a chip's, not PyNN's")
        if population.synaptic_init is not None:
            raise refuse(where, "a synaptic_init factor is not PyNN's")
        name = self.name(population.label)
        label = population.label
        parameters = [f"{key}={self.values(label, key, value)}" for key, value in population.parameters.items()]
        cell = Call(f"sim.{population.cell_type}", parameters)
        self.statement(Call("sim.Population", [str(population.size), cell, f"label={_text(label)}"]), f"{name} = ")
        kept = INITIAL_VALUES[population.cell_type]
        for key, value in population.initial_values.items():
            if key not in kept and np.any(np.asarray(value) != 0):
                raise refuse(f"{where} initial {key}", f"PyNN's {population.cell_type} has no such state")
        initial = [
            f"{key}={self.values(label, key, population.initial_values[key])}"
            for key in kept
            if key in ALWAYS_INITIALIZED or np.any(np.asarray(population.initial_values[key]) != 0)
        ]
        self.statement(Call(f"{name}.initialize", initial))

    def current_source(self, injection):
        """``sim.KIND(...)`` injected into its neurons, each time the middle of its time step: sPyNNaker
        truncates time x steps per ms to a step, which a time on the step's start can miss by float
        rounding; a DC source without a stop stops at sPyNNaker's last tick."""
        source, dt = injection.source, self.dt
        middle = lambda tick: _number((int(tick) + 0.5) * dt)  # noqa: E731
        if source.kind == "StepCurrentSource":
            ticks = np.atleast_1d(Semantics(dt=dt).ticks(source.times, injection.where, "times"))
            amplitudes = ", ".join(_number(a) for a in source.amplitudes)
            arguments = [f"times=[{', '.join(middle(t) for t in ticks)}]", f"amplitudes=[{amplitudes}]"]
        else:
            first, stop = source.window(Semantics(dt=dt), injection.where)
            timing = {"start": middle(first), "stop": middle(LAST_TICK if stop is None else stop)}
            arguments = [
                f"{name}={timing[name] if name in timing else _number(getattr(source, name))}" for name in source.FIELDS
            ]
        if source.kind == "NoisyCurrentSource":
            self.notes.append(f"{injection.where}: the simulator draws its own noise, not neurodeploy's samples")
        if source.kind == "ACSource":
            self.notes.append(
                f"{injection.where}: sPyNNaker's ACSource takes its frequency per tick (exact at dt 1 ms)"
            )
        target = self.names[injection.population]
        if injection.neurons is not None:
            target = f"{target}[[{', '.join(str(int(n)) for n in injection.neurons)}]]"
        self.statement(Call(f"{target}.inject", [Call(f"sim.{source.kind}", arguments)]))

    def statement(self, call: Call, prefix: str = ""):
        self.lines.append(call.render("", prefix))

    def projection(self, projection):
        network = self.network
        where = f"projection '{projection.label}'"
        connections = network.connections(projection.label)
        pre, post = self.names[projection.pre], self.names[projection.post]
        if len(connections.pre) == 0 and projection.structural is None:
            self.lines.append(f"# {projection.label}: no connections")
            return
        connector, scalar = self.native_connector(projection)
        weight = delay = None
        if connector is None:
            rows = [
                (int(i), int(j), float(w), float(d * self.dt))
                for i, j, w, d in zip(connections.pre, connections.post, connections.weight, connections.delay_ticks)
            ]
            connector = self.from_list(projection, rows)
        else:
            weight, delay = scalar
        synapse = self.synapse(projection, where, weight, delay)
        self.statement(
            Call(
                "sim.Projection",
                [
                    pre,
                    post,
                    connector,
                    synapse,
                    f"receptor_type={_text(projection.receptor)}",
                    f"label={_text(projection.label)}",
                ],
            )
        )

    def native_connector(self, projection):
        """PyNN's own connector when it means the description's, with the scalar (weight, delay)."""
        weight, delay = projection.weight, projection.delay
        if np.ndim(weight) or np.ndim(delay) or projection.pre_slice or projection.post_slice:
            return None, None
        if projection.structural is not None:
            return None, None
        scalar = float(weight), float(delay)
        if isinstance(projection.connector, OneToOne):
            if self.network.size_of(projection.pre) == self.network.size_of(projection.post):
                return "sim.OneToOneConnector()", scalar
        elif isinstance(projection.connector, AllToAll):
            if projection.connector.allow_self_connections:
                return "sim.AllToAllConnector()", scalar
            if projection.pre == projection.post:
                return "sim.AllToAllConnector(allow_self_connections=False)", scalar
        return None, None

    def from_list(self, projection, rows) -> str | Call:
        kind = type(projection.connector).__name__
        if kind != "FromList":
            self.lines.append(f"# {projection.label}: the synapses of its {kind} connector as neurodeploy drew them")
        if not rows:  # a structural projection that starts empty (sPyNNaker 7.4.1 cannot size empty columns)
            return "sim.FromListConnector([])"
        columns = 'column_names=["weight", "delay"]'
        if len(rows) <= INLINE_VALUES:
            listed = Call("", [f"({i}, {j}, {_number(w)}, {_number(d)})" for i, j, w, d in rows], "[]")
            return Call("sim.FromListConnector", [listed, columns])
        file = self.file_name(projection.label, "connections.npy")
        self.files[file] = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
        return Call("sim.FromListConnector", [f'np.load(HERE / "{file}")', columns])

    def synapse(self, projection, where: str, weight, delay) -> Call:
        values = [] if weight is None else [f"weight={_number(weight)}", f"delay={_number(delay)}"]
        rule = projection.plasticity
        plasticity = [] if rule is None else self.stdp(rule, where)
        structural = projection.structural
        if structural is not None:
            if not isinstance(structural, Synaptogenesis):
                raise refuse(where, f"{type(structural).__name__} has no PyNN or sPyNNaker mechanism")
            if structural.grid[0] != 1 and structural.grid[0] != structural.grid[1]:
                raise refuse(
                    f"{where} grid {list(structural.grid)}",
                    "sPyNNaker places neuron n at (n // grid[0], n % grid[1]), the description at "
                    "(n // grid[1], n % grid[1]): the same only on square grids and grids of one row",
                )
            formation = Call(
                "sim.DistanceDependentFormation",
                [
                    f"grid={list(structural.grid)}",
                    f"p_form_forward={_number(structural.p_form_forward)}",
                    f"sigma_form_forward={_number(structural.sigma_form_forward)}",
                    f"p_form_lateral={_number(structural.p_form_lateral)}",
                    f"sigma_form_lateral={_number(structural.sigma_form_lateral)}",
                ],
                keyword="formation",
            )
            elimination = Call(
                "sim.RandomByWeightElimination",
                [
                    f"threshold={_number(structural.weight_threshold)}",
                    f"prob_elim_depressed={_number(structural.p_elim_dep)}",
                    f"prob_elim_potentiated={_number(structural.p_elim_pot)}",
                ],
                keyword="elimination",
            )
            arguments = [
                f"partner_selection={PARTNER_SELECTIONS[structural.partner_selection]}",
                formation,
                elimination,
                f"f_rew={_number(structural.f_rew)}",
                f"initial_weight={_number(structural.initial_weight)}",
                f"initial_delay={_initial_delay(structural.initial_delay, self.dt)}",
                f"s_max={structural.s_max}",
                "with_replacement=False",
                f"seed={self.network.seed}",
            ]
            mechanism = "sim.StructuralMechanismSTDP" if rule is not None else "sim.StructuralMechanismStatic"
            return Call(mechanism, [*arguments, *plasticity, *values])
        if rule is None:
            return Call("sim.StaticSynapse", values)
        return Call("sim.STDPMechanism", [*plasticity, *values])

    def stdp(self, rule, where: str) -> list[Call]:
        if not isinstance(rule, STDP):
            raise refuse(where, f"the plasticity {type(rule).__name__} has no PyNN mechanism")
        if rule.arithmetic is not None:
            raise refuse(where, "its STDP's fixed-point arithmetic is a chip's, not PyNN's")
        if rule.heterosynaptic > 0:
            raise refuse(f"{where} stdp heterosynaptic", "PyNN and sPyNNaker have no heterosynaptic depression")
        sPyNNakers = STDPSemantics().to_dict()
        for name, value in rule.semantics.to_dict().items():
            if name not in ("traces", "amplitude") and value != sPyNNakers[name]:
                raise refuse(f"{where} stdp semantics {name} {value!r}", f"sPyNNaker's rule has {sPyNNakers[name]!r}")
        if rule.semantics.traces not in TRACES:
            raise refuse(f"{where} stdp traces {rule.semantics.traces!r}", f"sPyNNaker pairs {' or '.join(TRACES)}")
        a_plus, a_minus = rule.amplitudes  # absolute amplitudes, as sPyNNaker's rules take them
        timing = [
            f"tau_plus={_number(rule.tau_plus)}",
            f"tau_minus={_number(rule.tau_minus)}",
            f"A_plus={_number(a_plus)}",
            f"A_minus={_number(a_minus)}",
        ]
        dependence = [f"w_min={_number(rule.w_min)}", f"w_max={_number(rule.w_max)}"]
        return [
            Call(TRACES[rule.semantics.traces], timing, keyword="timing_dependence"),
            Call(WEIGHT_DEPENDENCES[rule.weight_dependence], dependence, keyword="weight_dependence"),
        ]

    def recordings(self):
        for label, variables in self.network.recordings.items():
            listed = ", ".join(_text(PYNN_RECORDABLE.get(variable, variable)) for variable in variables)
            self.lines.append(f"{self.names[label]}.record([{listed}])")
        if self.network.connectivity_recordings:
            self.notes.append(
                "connectivity snapshots of " + ", ".join(self.network.connectivity_recordings) + " (PyNN records none)"
            )

    def finish(self, duration: float | None, after_run: tuple[str, ...]) -> Export:
        everything = ", ".join(self.names.values()) + ("," if len(self.names) == 1 else "")
        after = [line.replace("{populations}", f"({everything})") for line in after_run]
        options = sorted(set(re.findall(r"arguments\.(\w+)", "\n".join(after))) - {"duration", "spikes"})
        given = "required=True" if duration is None else f"default={_number(duration)}"
        duration_option = f'parser.add_argument("--duration", type=float, {given}, help="simulated time (ms)")'
        spiking = [name for label, name in self.names.items() if "spikes" in self.network.recordings.get(label, ())]
        header = [
            "#!/usr/bin/env python",
            MARKER,
            f'"""The network {self.network.name!r}, exported by neurodeploy from its description as a plain PyNN',
            "script for sPyNNaker; it runs unchanged on PyNN's other simulators by changing the import, on",
            "neurodeploy through `neurodeploy run pynn_script.py`. `--spikes FILE` writes the recorded spikes",
            'as neurodeploy\'s spikes.json."""',
            "",
            "import argparse",
            "import json",
            "from pathlib import Path",
            "",
            "import numpy as np",
            "import pyNN.spiNNaker as sim",
            "",
            "HERE = Path(__file__).resolve().parent",
            "",
            "parser = argparse.ArgumentParser(description=__doc__)",
            duration_option,
            'parser.add_argument("--spikes", help="write the recorded spikes here (JSON)")',
            *(f'parser.add_argument("--{option}")' for option in options),
            "arguments = parser.parse_args()",
            "",
            f"sim.setup(timestep={_number(self.dt)})",
            "",
        ]
        footer = [
            "",
            "sim.run(arguments.duration)",
            "if arguments.spikes:",
            "    recorded = {",
            "        population.label: [",
            '            train.magnitude.tolist() for train in population.get_data("spikes").segments[0].spiketrains',
            "        ]",
            f"        for population in ({', '.join(spiking)}{',' if len(spiking) == 1 else ''})",
            "    }",
            "    document = {",
            f'        "dt_ms": {_number(self.dt)},',
            '        "duration_ms": arguments.duration,',
            '        "backend": sim.__name__,',
            '        "populations": {',
            '            label: {"size": len(trains), "spike_times_ms": trains} for label, trains in recorded.items()',
            "        },",
            "    }",
            '    Path(arguments.spikes).write_text(json.dumps(document) + "\\n")',
            *after,
            "sim.end()",
            "",
        ]
        return Export("\n".join([*header, *self.lines, *footer]), self.files, self.notes)


@dataclass(eq=False)
class Call:
    """A call (or, with ``brackets`` "[]", a list) in the script: on one line where it fits in ``WIDTH``, else
    one argument a line, or plain values as many a line as fit."""

    name: str
    arguments: list
    brackets: str = "()"
    keyword: str = ""

    def render(self, indent: str, prefix: str = "") -> str:
        opening = f"{indent}{prefix}{self.keyword + '=' if self.keyword else ''}{self.name}{self.brackets[0]}"
        flat = opening + ", ".join(_flat(argument) for argument in self.arguments) + self.brackets[1]
        if len(flat) <= WIDTH or not self.arguments:
            return flat
        inner = indent + "    "
        if any(isinstance(argument, Call) for argument in self.arguments):
            lines = [
                (argument.render(inner) if isinstance(argument, Call) else inner + argument) + ","
                for argument in self.arguments
            ]
        else:  # plain values (a cell's parameters, a list's items): as many a line as fit
            lines = [inner]
            for argument in self.arguments:
                if lines[-1] != inner and len(lines[-1]) + len(argument) + 2 > WIDTH:
                    lines[-1] = lines[-1].rstrip()
                    lines.append(inner)
                lines[-1] += argument + ", "
            lines[-1] = lines[-1].rstrip()
        return "\n".join([opening, *lines, indent + self.brackets[1]])


def _flat(argument) -> str:
    return argument.render("") if isinstance(argument, Call) else argument


WIDTH = 110
"""The script's line length."""
PYNN_RECORDABLE = {"isyn_exc": "gsyn_exc", "isyn_inh": "gsyn_inh"}
"""PyNN (sPyNNaker) records a current-based cell's synaptic currents under the conductance names."""

RESERVED = {"sim", "np", "json", "argparse", "Path", "HERE", "parser", "arguments", "recorded", "document"}
"""Names the script itself uses."""


def _number(value) -> str:
    """A float as Python text that reads back as the same float."""
    number = float(value)
    return repr(int(number)) + ".0" if number.is_integer() and abs(number) < 1e16 else repr(number)


def _text(text: str) -> str:
    """A string as a Python literal in double quotes."""
    return json.dumps(text)


def _initial_delay(delay, dt: float) -> str:
    """sPyNNaker's ``initial_delay``: one tick when the description gives none, a tuple for a range."""
    if delay is None:
        return _number(dt)
    if isinstance(delay, tuple):
        return f"({_number(delay[0])}, {_number(delay[1])})"
    return _number(delay)
