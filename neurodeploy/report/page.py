"""The report page: one self-contained HTML document (inline CSS and SVG, no script, nothing fetched) with a
section per question a user brings to a run, a comparison or a deploy. A section the folder has no data for
says so in one line, naming what is missing; nothing is drawn that was not recorded."""

from __future__ import annotations

import datetime
import html
import json
from dataclasses import dataclass

import numpy as np

from neurodeploy import __version__
from neurodeploy.report import figures
from neurodeploy.report.layout import Pair, RunFolder, Study
from neurodeploy.runs.compare import compare, compare_structural, compare_traces
from neurodeploy.runs.explain import Divergence, first_divergence
from neurodeploy.runs.quantization import STDP_PARAMETERS

GENERATOR = "neurodeploy report"
"""The page's generator meta tag: how a rerun recognises a report it may replace."""

KINDS = {
    "correctness": "target vs its quantization-aware reference (the verdict)",
    "quantization_cost": "vs the float model (what quantization costs)",
    "portability": "target vs target (portability)",
    "comparison": "neurodeploy compare",
}
RASTER_TICKS = 5000
"""The most ticks a raster shows: a longer run is shown over this many ticks from shortly before its first
divergence (else from its start), saying so; a raster of more is a grey block."""
TRACE_WINDOW_TICKS = 100
"""Ticks shown either side of the first divergence when a trace is longer than three windows."""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs td { background: #fff1e0; }
.pass { color: #11702b; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.omitted { color: #666; font-style: italic; }
figure { margin: 0.5em 0 1.5em; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #444; }
nav ul { columns: 3; font-size: 0.9em; } code { background: #f4f4f4; padding: 0 0.2em; }
div.wide { overflow-x: auto; }
"""


class Raw(str):
    """HTML to put into the page as it is (every other value is escaped)."""


def escape(value) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value))


@dataclass
class Section:
    key: str
    title: str
    body: str


def omitted(reason: str) -> str:
    return f'<p class="omitted">{escape(reason)}</p>'


def table(headers: list[str], rows: list[list], key: str | None = None, row_classes: list[str] | None = None) -> str:
    """A table; number cells right-aligned. ``key`` becomes the table's id (tests read tables by it)."""
    identifier = f' id="{escape(key)}"' if key else ""
    lines = [
        f'<div class="wide"><table{identifier}><thead><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h in headers)
        + "</tr></thead>"
    ]
    lines.append("<tbody>")
    for index, row in enumerate(rows):
        kind = f' class="{row_classes[index]}"' if row_classes and row_classes[index] else ""
        cells = "".join(
            f'<td class="number">{escape(cell)}</td>' if _numeric(cell) else f"<td>{escape(cell)}</td>" for cell in row
        )
        lines.append(f"<tr{kind}>{cells}</tr>")
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def _numeric(cell) -> bool:
    try:
        float(str(cell).rstrip("%"))
    except ValueError:
        return False
    return not isinstance(cell, Raw)


def number(value, digits: int = 4) -> str:
    """A number for a table: integers as they are, others to ``digits`` significant digits; "-" for none."""
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) or float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{float(value):.{digits}g}"


def percent(value) -> str:
    return "-" if value is None else f"{100.0 * value:.2f}%"


def verdict_mark(passed) -> Raw:
    if passed is None:
        return Raw("-")
    return Raw('<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>')


def compact(value) -> str:
    """A value from a JSON document in one short line: lists joined, mappings as ``key value`` pairs with their
    empty entries left out."""
    if isinstance(value, dict):
        shown = [f"{key} {compact(item)}" for key, item in value.items() if item not in ([], {}, None, "")]
        return "; ".join(shown) if shown else "-"
    if isinstance(value, list):
        return "[" + ", ".join(compact(item) for item in value) + "]"
    if isinstance(value, float):
        return number(value)
    return str(value)


class Page:
    """Builds the sections of one study's page."""

    def __init__(self, study: Study):
        self.study = study
        self.figure_count = 0

    def figure(self, figure, caption: str) -> str:
        self.figure_count += 1
        drawn = figures.svg(figure, f"figure{self.figure_count}")
        return f"<figure>{drawn}<figcaption>{escape(caption)}</figcaption></figure>"

    # --- the data each pair needs ---------------------------------------------------------------------

    def runs_of(self, pair: Pair) -> tuple[RunFolder, RunFolder] | str:
        """Both runs of a pair, or why they cannot be shown."""
        found = []
        for name in (pair.run, pair.reference):
            run = self.study.runs.get(name)
            if run is None or run.run is None:
                return f"run '{name}' could not be read" + (f" ({run.missing})" if run and run.missing else "")
            found.append(run)
        return found[0], found[1]

    def shown_pairs(self, parts: list[str]):
        """Each pair (its index, the pair, its two runs) with its heading added to ``parts``; one whose runs
        cannot be read is headed and said so, and not yielded."""
        for index, pair in enumerate(self.study.pairs):
            parts.append(f"<h3>{escape(self.pair_title(pair))}</h3>")
            found = self.runs_of(pair)
            if isinstance(found, str):
                parts.append(omitted(found))
                continue
            yield index, pair, *found

    def judged(self, run: RunFolder) -> list[str]:
        """The populations a comparison judges: those recorded, less the spike sources."""
        return [label for label in run.run.spikes.populations if label not in run.spike_sources]

    def spike_metrics(self, pair: Pair, run: RunFolder, reference: RunFolder) -> dict:
        """compare()'s numbers as the command that compared the runs recorded them, else computed here with
        the default thresholds."""
        if pair.spikes is not None:
            return pair.spikes
        return compare(run.run.spikes, reference.run.spikes, inputs=reference.spike_sources).to_dict()

    def divergence(self, pair: Pair, run: RunFolder, reference: RunFolder) -> tuple[Divergence | None, str]:
        """The pair's first divergence and where it comes from (the explanation, else computed here)."""
        explained = _explained_divergence(self.study.explain, pair)
        if explained is not None:
            return explained, "explain"
        return first_divergence(run.run.spikes, reference.run.spikes, reference.spike_sources), "computed"

    def pair_title(self, pair: Pair) -> str:
        return f"{pair.run} vs {pair.reference}: {KINDS.get(pair.kind, pair.kind)}"

    # --- sections -----------------------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        return [
            self.verdict(),
            self.explanation(),
            self.rasters(),
            self.rates(),
            self.traces(),
            self.quantization(),
            self.weights(),
            self.structural(),
            self.answers(),
            self.design_rules(),
            self.mapping(),
        ]

    def verdict(self) -> Section:
        study = self.study
        parts = []
        if study.targets:
            parts.append(
                table(
                    ["target", "backend", "passed", "verdict", "failures"],
                    [
                        [
                            t.name,
                            t.backend or "-",
                            verdict_mark(t.passed),
                            t.verdict or "-",
                            "; ".join(t.failures) or "-",
                        ]
                        for t in study.targets
                    ],
                    key="targets",
                )
            )
        if study.pairs:
            rows = []
            for pair in study.pairs:
                overall = (pair.spikes or {}).get("overall")
                if overall is None:
                    found = self.runs_of(pair)
                    overall = None if isinstance(found, str) else self.spike_metrics(pair, *found)["overall"]
                overall = overall or {}
                rows.append(
                    [
                        pair.kind,
                        pair.run,
                        pair.reference,
                        percent(overall.get("same_tick_fraction")),
                        percent(overall.get("within_one_fraction")),
                        number(overall.get("run_rate_hz")),
                        number(overall.get("reference_rate_hz")),
                        percent(overall.get("rate_error")),
                        number(overall.get("van_rossum")),
                        verdict_mark(pair.passed),
                        "; ".join(pair.failures) or "-",
                    ]
                )
            parts.append(
                table(
                    [
                        "comparison",
                        "run",
                        "reference",
                        "same tick",
                        "±1 tick",
                        "rate run (Hz)",
                        "rate reference (Hz)",
                        "rate error",
                        "van Rossum",
                        "verdict",
                        "failures",
                    ],
                    rows,
                    key="comparisons",
                )
            )
            parts.append(
                "<p>Fractions are of the reference's spikes; spike sources are left out of the overall figures. "
                "Only a correctness comparison is judged: the others measure.</p>"
            )
        if study.targets and not study.pairs:
            parts.append(omitted("nothing ran: the design rules refused the network (see the design rules below)"))
        if not parts:
            parts.append(omitted("a single run: nothing was compared (run `neurodeploy compare RUN REFERENCE`)"))
        return Section("verdict", "Verdict", "\n".join(parts))

    def rasters(self) -> Section:
        study, parts = self.study, []
        if not study.pairs:
            for run in study.runs.values():
                labels = [label for label in run.run.spikes.populations if label not in run.spike_sources]
                window, shown = raster_window(run.run.spikes, None)
                ticks = {label: shown(run.run.spikes.ticks(label)) for label in labels}
                drawn = figures.raster_overlay(ticks, None, run.run.spikes.dt_ms, window, run.name, None, None)
                parts.append(
                    self.figure(
                        drawn,
                        f"Spikes of {run.name} ({run.backend}){window_text(run.run.spikes, window)}; spike sources "
                        "left out.",
                    )
                )
        for _, pair, run, reference in self.shown_pairs(parts):
            labels = self.judged(reference)
            divergence, source = self.divergence(pair, run, reference)
            window, shown = raster_window(reference.run.spikes, divergence)
            drawn = figures.raster_overlay(
                {label: shown(run.run.spikes.ticks(label)) for label in labels},
                {label: shown(reference.run.spikes.ticks(label)) for label in labels},
                reference.run.spikes.dt_ms,
                window,
                run.name,
                reference.name,
                divergence,
            )
            where = (
                "identical spike trains"
                if divergence is None
                else f"first divergence at tick {divergence.tick}, {divergence.population}[{divergence.neuron}] "
                f"({'from the explanation' if source == 'explain' else 'the first tick at which spike trains differ'})"
            )
            parts.append(
                self.figure(
                    drawn,
                    f"{run.name} ({run.backend}) over {reference.name} ({reference.backend})"
                    f"{window_text(reference.run.spikes, window)}: grey in both in the "
                    f"same tick, red only in {run.name}, blue only in {reference.name}; {where}.",
                )
            )
        title = "Spikes: each run over its reference, divergences marked" if study.pairs else "Spikes"
        return Section("rasters", title, "\n".join(parts))

    def rates(self) -> Section:
        study, parts = self.study, []
        headers = [
            "population",
            "neurons",
            "spikes run",
            "spikes reference",
            "rate run (Hz)",
            "rate reference (Hz)",
            "rate difference (Hz)",
            "rate error",
            "|Δcount| mean",
            "|Δcount| max",
            "same tick",
            "±1 tick",
            "van Rossum",
        ]
        if not study.pairs:
            for run in study.runs.values():
                spikes, seconds = run.run.spikes, run.run.spikes.duration_ms / 1000.0
                rows = [
                    [
                        label,
                        len(trains),
                        sum(t.size for t in trains),
                        number(sum(t.size for t in trains) / (len(trains) * seconds)),
                    ]
                    for label, trains in spikes.populations.items()
                ]
                parts.append(table(["population", "neurons", "spikes", "rate (Hz)"], rows, key=f"rates-{run.name}"))
        for index, pair, run, reference in self.shown_pairs(parts):
            metrics = self.spike_metrics(pair, run, reference)
            items = {**metrics["populations"], "overall": metrics["overall"]}
            rows = []
            for label, item in items.items():
                name = f"{label} (input)" if label in metrics.get("inputs_not_judged", ()) else label
                rows.append(
                    [
                        name,
                        item["neurons"],
                        item["run_spikes"],
                        item["reference_spikes"],
                        number(item["run_rate_hz"]),
                        number(item["reference_rate_hz"]),
                        number(item["run_rate_hz"] - item["reference_rate_hz"]),
                        percent(item["rate_error"]),
                        number(item["mean_abs_count_difference"]),
                        item["max_abs_count_difference"],
                        percent(item["same_tick_fraction"]),
                        percent(item["within_one_fraction"]),
                        number(item["van_rossum"]),
                    ]
                )
            parts.append(table(headers, rows, key=f"rates-{index}"))
            labels = self.judged(reference)
            differences = {
                label: np.array(
                    [a.size - b.size for a, b in zip(run.run.spikes.ticks(label), reference.run.spikes.ticks(label))]
                )
                for label in labels
            }
            drawn = figures.rates_and_counts(
                {label: metrics["populations"][label] for label in labels}, differences, run.name, reference.name
            )
            parts.append(self.figure(drawn, "Rates per population, and per neuron the difference of spike counts."))
        return Section("rates", "Spike counts and rates per population", "\n".join(parts))

    def traces(self) -> Section:
        study, parts = self.study, []
        if not study.pairs:
            return Section(
                "traces",
                "Membrane traces at the first divergence",
                omitted("a single run: there is no divergence to look at"),
            )
        for _, pair, run, reference in self.shown_pairs(parts):
            recorded = pair.traces
            if recorded is None and run.traces and reference.traces:
                recorded = compare_traces(run.traces, reference.traces, run.run.recording, reference.run.recording)
            if recorded is not None:
                parts.append(_traces_table(recorded, f"traces-{pair.run}-{pair.reference}"))
            divergence, source = self.divergence(pair, run, reference)
            if divergence is None:
                parts.append(omitted("the spike trains are identical: no neuron diverges"))
                continue
            label, neuron = divergence.population, divergence.neuron
            ours, theirs = run.traces.get(label, {}), reference.traces.get(label, {})
            variables = {
                name: (ours[name][:, neuron], theirs[name][:, neuron])
                for name in theirs
                if name in ours and ours[name].shape == theirs[name].shape
            }
            if not variables:
                lacking = [r.name for r, t in ((run, ours), (reference, theirs)) if not t]
                parts.append(
                    omitted(
                        f"first divergence at tick {divergence.tick}, {label}[{neuron}]: no trace of {label} to show "
                        + (
                            f"({' and '.join(lacking)} recorded spikes only)"
                            if lacking
                            else "(the runs recorded different variables or ticks)"
                        )
                    )
                )
                continue
            length = next(iter(variables.values()))[0].size
            window = (0, length)
            if length > 3 * TRACE_WINDOW_TICKS:
                start = max(0, min(divergence.tick - TRACE_WINDOW_TICKS, length - 2 * TRACE_WINDOW_TICKS))
                window = (start, start + 2 * TRACE_WINDOW_TICKS)
            spikes = (run.run.spikes.ticks(label)[neuron], reference.run.spikes.ticks(label)[neuron])
            drawn = figures.traces(
                {f"{label}[{neuron}].{name}": samples for name, samples in variables.items()},
                window,
                reference.run.spikes.dt_ms,
                spikes,
                divergence,
                run.name,
                reference.name,
            )
            conventions = (
                f"both sampled {run.run.recording}"
                if run.run.recording == reference.run.recording
                else f"sampled differently: {run.name} {run.run.recording}, {reference.name} {reference.run.recording}"
            )
            parts.append(
                self.figure(
                    drawn,
                    f"{label}[{neuron}], which first parts at tick {divergence.tick} "
                    f"({'from the explanation' if source == 'explain' else 'computed from the spike trains'}); "
                    f"{conventions}; spikes as ticks above the plot (red {run.name}, blue {reference.name}).",
                )
            )
        return Section("traces", "Membrane traces at the first divergence", "\n".join(parts))

    def quantization(self) -> Section:
        parts = []
        if not self.study.targets:
            return Section("quantization", "Quantization", omitted("not a deploy: no target quantized the network"))
        for target in self.study.targets:
            parts.append(f"<h3>{escape(target.name)}</h3>")
            effects = target.quantization
            if effects is None:
                parts.append(
                    omitted(
                        f"{target.compile_folder.name}/quantization.json is absent (a deploy before neurodeploy wrote "
                        "it, or one the design rules stopped): no per-synapse or per-parameter histograms"
                    )
                )
            else:
                parts += self.quantization_effects(effects, target.name)
            own = (target.compile or {}).get("quantization")
            if own:
                parts.append(f"<p>The target's own numbers (compile.json):</p>{_records(own)}")
        return Section("quantization", "Quantization: what the target's numbers change", "\n".join(parts))

    def quantization_effects(self, effects: dict, target: str) -> list[str]:
        parts = []
        projections = {
            label: item
            for label, item in effects["projections"].items()
            if "not_compared" not in item and sum(item["relative_error_counts"])
        }
        if projections:
            parts.append(
                self.figure(
                    figures.weight_errors(projections, effects["relative_error_edges"]),
                    "Per projection whose weights are not all kept exactly, its synapses' relative weight error "
                    "|implemented - described| / described.",
                )
            )
        else:
            parts.append("<p>Every synapse keeps its weight exactly.</p>")
        rows = []
        for label, item in effects["projections"].items():
            if "not_compared" in item:
                rows.append([label, item["synapses"], "-", "-", "-", "-", "-", item["not_compared"]])
                continue
            stdp = item.get("plasticity")
            rule = "-" if stdp is None else _stdp_text(stdp)
            rows.append(
                [
                    label,
                    item["synapses"],
                    item["exact"],
                    item["lost_to_zero"],
                    number(item["largest_relative_error"]),
                    number(item["mean_relative_error"]),
                    item["delays_changed"],
                    rule,
                ]
            )
        parts.append(
            table(
                [
                    "projection",
                    "synapses",
                    "exact",
                    "lost to zero",
                    "largest relative error",
                    "mean relative error",
                    "delays changed",
                    "STDP: weight step, described -> implemented",
                ],
                rows,
                key=f"quantization-projections-{target}",
            )
        )
        populations = effects["populations"]
        if populations:
            parts.append(
                self.figure(
                    figures.parameter_errors(populations),
                    "Per population, each parameter's largest relative difference between what the target implements "
                    "and what was described (time constants as their decay per tick).",
                )
            )
            rows = [
                [
                    label,
                    name,
                    item["unit"],
                    _range(item["described"]),
                    _range(item["implemented"]),
                    number(item["max_abs_difference"]),
                    number(item["max_relative_difference"]),
                    item["neurons_differing"],
                ]
                for label, population in populations.items()
                for name, item in population["quantities"].items()
            ]
            parts.append(
                table(
                    [
                        "population",
                        "parameter",
                        "unit",
                        "described",
                        "implemented",
                        "largest |difference|",
                        "largest relative",
                        "neurons differing",
                    ],
                    rows,
                    key=f"quantization-populations-{target}",
                )
            )
        return parts

    def weights(self) -> Section:
        parts = []
        pairs = self.study.pairs or []
        for pair in pairs:
            found = self.runs_of(pair)
            if isinstance(found, str):
                continue
            run, reference = found
            labels = [label for label in reference.weights if label in run.weights]
            if not labels:
                continue
            parts.append(f"<h3>{escape(self.pair_title(pair))}</h3>")
            rows = []
            for label in labels:
                ours, theirs = run.weights[label], reference.weights[label]
                common, difference = _matched_weights(ours, theirs)
                rows.append(
                    [
                        label,
                        ours["weight"].size,
                        theirs["weight"].size,
                        np.unique(ours["weight"]).size,
                        np.unique(theirs["weight"]).size,
                        common,
                        number(difference),
                    ]
                )
            parts.append(
                table(
                    [
                        "projection",
                        "synapses run",
                        "synapses reference",
                        "distinct values run",
                        "distinct values reference",
                        "synapses in both",
                        "largest |difference| on those",
                    ],
                    rows,
                    key=f"weights-{pair.run}-{pair.reference}",
                )
            )
            drawn = figures.weight_distributions(
                {label: (run.weights[label]["weight"], reference.weights[label]["weight"]) for label in labels},
                run.name,
                reference.name,
            )
            parts.append(self.figure(drawn, "Final weights of the plastic projections, both runs on the same bins."))
        if not pairs:
            for run in self.study.runs.values():
                if run.weights:
                    drawn = figures.weight_distributions(
                        {label: (item["weight"], None) for label, item in run.weights.items()},
                        run.name,
                        None,
                    )
                    parts.append(self.figure(drawn, f"Final weights of the plastic projections of {run.name}."))
        if not parts:
            parts.append(omitted("no run saved final weights (weights.npz): the network has no plastic projection"))
        return Section("weights", "STDP: final weight distributions", "\n".join(parts))

    def structural(self) -> Section:
        parts = []
        groups = []
        for pair in self.study.pairs:
            found = self.runs_of(pair)
            if not isinstance(found, str) and all(r.structural is not None for r in found):
                groups.append((self.pair_title(pair), list(found), pair))
        if not self.study.pairs:
            groups = [(run.name, [run], None) for run in self.study.runs.values() if run.structural is not None]
        for title, runs, pair in groups:
            parts.append(f"<h3>{escape(title)}</h3>")
            dt = runs[-1].run.spikes.dt_ms
            ticks = int(round(runs[-1].run.spikes.duration_ms / dt))
            series = {
                label: {run.name: synapse_series(run.structural, label, ticks) for run in runs}
                for label in runs[-1].structural.get("events", {})
            }
            if series:
                parts.append(
                    self.figure(
                        figures.synapse_counts(series, dt),
                        "Per structural projection, the synapses it holds over time (from the synapses at the end "
                        "and the formation and elimination events), and the events so far.",
                    )
                )
            if pair is not None:
                decisions = pair.structural or compare_structural(runs[0].structural, runs[1].structural)
                parts.append(
                    table(
                        ["projection (or turnover)", "events run", "events reference", "first tick they differ"],
                        [
                            [label, item["run"], item["reference"], number(item["first_difference_tick"])]
                            for label, item in decisions.items()
                        ],
                        key=f"structural-{pair.run}-{pair.reference}",
                    )
                )
            else:
                structural = runs[0].structural
                rows = [
                    [label, sum(e[1] == "form" for e in events), sum(e[1] != "form" for e in events)]
                    for label, events in structural.get("events", {}).items()
                ]
                rows += [
                    [f"turnover {label}", len(epochs), "-"] for label, epochs in structural.get("turnover", {}).items()
                ]
                parts.append(table(["projection (or turnover)", "formed (epochs)", "eliminated"], rows))
        if not parts:
            parts.append(omitted("no run recorded structural plasticity (structural.json): the network has none"))
        return Section("structural", "Structural plasticity: events and synapse counts", "\n".join(parts))

    def answers(self) -> Section:
        runs = [run for run in self.study.runs.values() if run.run is not None and run.answers]
        if not runs:
            return Section(
                "answers",
                "Protocol answers",
                omitted("no run was driven by an operation protocol (answers.json): nothing to answer"),
            )
        operations = runs[0].answers.get("operations", [])
        fields = list(
            dict.fromkeys(key for item in operations for key in item if key not in ("answer", "ideal", "agrees"))
        )
        headers = [
            "#",
            *fields,
            *(f"answer {run.name}" for run in runs),
            "ideal",
            *(f"ideal? {run.name}" for run in runs),
        ]
        rows, classes = [], []
        for index, item in enumerate(operations):
            answers = [
                run.answers["operations"][index] if index < len(run.answers["operations"]) else {} for run in runs
            ]
            rows.append(
                [
                    index,
                    *(compact(item.get(key, "")) for key in fields),
                    *(compact(answer.get("answer", "-")) for answer in answers),
                    compact(item.get("ideal", "-")),
                    *(number(answer.get("agrees")) for answer in answers),
                ]
            )
            classes.append("differs" if len({json.dumps(a.get("answer"), sort_keys=True) for a in answers}) > 1 else "")
        summaries = [
            f"{run.name}: {run.answers['summary']['agree']}/{run.answers['summary']['operations']} agree with an ideal "
            "memory"
            for run in runs
            if isinstance(run.answers.get("summary"), dict) and "agree" in run.answers["summary"]
        ]
        for pair in self.study.pairs:
            if pair.functional:
                differing = pair.functional.get("answers_differing_from_reference", [])
                summaries.append(
                    f"{pair.run} vs {pair.reference}: "
                    + (f"operations {compact(differing)} answer differently" if differing else "every operation alike")
                )
        body = (
            f"<p>{escape('; '.join(summaries))}. Rows where the runs answer differently are shaded; empty parts of an "
            "answer are left out.</p>" + table(headers, rows, key="answers-table", row_classes=classes)
        )
        return Section("answers", "Protocol answers", body)

    def design_rules(self) -> Section:
        parts = []
        if not self.study.targets:
            parts.append(omitted("not a deploy or compile: no design rules were checked"))
        for target in self.study.targets:
            findings = (target.compile or {}).get("findings")
            parts.append(f"<h3>{escape(target.name)}</h3>")
            if findings is None:
                parts.append(omitted(f"{target.compile_folder.name}/compile.json is absent"))
            elif findings:
                parts.append(
                    table(
                        ["level", "subject", "message"],
                        [[f["level"], f["subject"], f["message"]] for f in findings],
                        key=f"findings-{target.name}",
                    )
                )
            else:
                parts.append("<p>No design-rule findings: no errors, no warnings.</p>")
            listed = {f"{f['level']}: {f['subject']}: {f['message']}" for f in findings or ()}
            unlisted = [error for error in target.errors if error not in listed]
            if unlisted:
                parts.append(table(["error"], [[error] for error in unlisted]))
        if self.study.warnings:
            parts.append("<h3>Other warnings</h3>")
            parts.append(
                table(
                    ["source", "message"],
                    [[w.get("source", "-"), w.get("message", "")] for w in self.study.warnings],
                    key="warnings",
                )
            )
        return Section("rules", "Design rules: warnings and errors", "\n".join(parts))

    def mapping(self) -> Section:
        parts = []
        if not self.study.targets:
            parts.append(omitted("not a deploy: nothing was mapped"))
        for target in self.study.targets:
            parts.append(f"<h3>{escape(target.name)}</h3>")
            report = target.compile or {}
            mapping = target.mapping
            if mapping:
                parts.append(
                    f"<p>{number(mapping.get('application_cores'))} application cores on "
                    f"{number(mapping.get('chips_used'))} of {number(mapping.get('board_chips'))} chips, "
                    f"{number(mapping.get('system_cores'))} system cores; ring-buffer shifts "
                    f"{'agree' if mapping.get('ring_buffer_shifts_agree') else 'differ'} with the emulation's.</p>"
                )
                rows = [
                    [
                        label,
                        vertex.get("vertex"),
                        compact(vertex.get("chip")),
                        vertex.get("core"),
                        vertex.get("sdram_bytes"),
                    ]
                    for label, vertices in mapping.get("populations", {}).items()
                    for vertex in vertices
                ]
                parts.append(
                    table(["population", "vertex", "chip", "core", "SDRAM (bytes)"], rows, key=f"mapping-{target.name}")
                )
                routes = mapping.get("routing_entries")
                if routes:
                    parts.append(f"<p>Routing entries per chip: {escape(compact(routes))}.</p>")
            resources = report.get("resources")
            if resources:
                parts.append(f"<p>Resources: {escape(compact(resources))}.</p>")
            processes = report.get("processes")
            if processes:
                rows = [
                    [kind, label, item.get("process"), item.get("origin")]
                    for kind, items in processes.items()
                    for label, item in items.items()
                ]
                parts.append(table(["kind", "label", "process", "origin"], rows, key=f"processes-{target.name}"))
            if not (mapping or resources or processes):
                parts.append(omitted(f"{target.name} was not mapped (no mapping or resources in compile.json)"))
        return Section("mapping", "Mapping summary", "\n".join(parts))

    def explanation(self) -> Section:
        study, title = self.study, "Why the runs part"
        if study.kind != "deploy":
            return Section("explain", title, omitted("not a deploy: a deploy explains where its runs part and why"))
        explain = study.explain
        if explain is None:
            return Section(
                "explain",
                title,
                omitted(
                    "not explained: the deploy ran with --explain-runs 0 (`neurodeploy explain "
                    f"{study.path}` explains the runs that part)"
                ),
            )
        if not explain["explanations"]:
            return Section("explain", title, f"<p>{escape(explain['text'])}.</p>")
        parts = [
            f"<p>Where two runs part, the Brian2 reference is re-run with quantization effects put back to float, "
            f"at most {number(explain['max_runs'])} runs per comparison: an effect's share is how much of the spike "
            f"difference ({escape(explain['measure'])}) disappears when it alone is reverted; the cause is a set of "
            f"effects that removes {explain['goal']:.0%} of what reverting them all removes "
            "(docs/explain.md).</p>"
        ]
        for item in explain["explanations"]:
            heading = f"{item['run']} vs {item['reference']}: {KINDS[item['kind']]}"
            parts.append(f"<h3>{escape(heading)}</h3>")
            parts.append(f"<p>{escape(item['sentence'][0].upper() + item['sentence'][1:])}.</p>")
            attribution = item["attribution"]
            if not attribution or not attribution["effects"]:
                continue
            cause = {effect["name"] for effect in (attribution["cause"] or {}).get("effects", [])}
            rows = [
                [
                    effect["target"],
                    effect["name"],
                    percent(effect.get("explained")) if "explained" in effect else "not tried",
                    _parting_tick(effect) if "explained" in effect else "",
                    "yes" if effect["name"] in cause else "",
                    effect["detail"],
                ]
                for effect in attribution["effects"]
            ]
            parts.append(
                table(
                    ["target", "effect", "share alone", "first parts at tick", "in the cause", "detail"],
                    rows,
                    key=f"explain-{item['run']}-{item['reference']}",
                )
            )
            budget = "" if attribution["complete"] else ", the budget, before every effect was tried"
            parts.append(
                f"<p>{number(attribution['runs'])} Brian2 runs{budget}; spike difference "
                f"{percent(attribution['difference'])} with every effect in place.</p>"
            )
        return Section("explain", title, "\n".join(parts))

    # --- the page ---------------------------------------------------------------------------------------

    def header(self) -> str:
        study, model = self.study, self.study.model
        parameters = model.get("parameters") or {}
        lines = [f"<h1>{escape(model.get('name', 'run'))}: {escape(study.kind)} report</h1>"]
        facts = [f"folder <code>{escape(study.path)}</code>"]
        if study.duration_ms is not None:
            facts.append(f"{number(study.duration_ms)} ms simulated")
        facts.append(
            "runs: " + ", ".join(f"{run.name} ({run.backend})" for run in study.runs.values() if run.run is not None)
        )
        if parameters:
            facts.append("parameters: " + compact(parameters))
        lines.append(f"<p>{'; '.join(escape(fact) if i else fact for i, fact in enumerate(facts))}.</p>")
        if study.verdict:  # a line per target
            lines.append(f"<p>{verdict_mark(study.passed)} {'<br>'.join(map(escape, study.verdict.splitlines()))}</p>")
        elif study.passed is not None:
            lines.append(f"<p>{verdict_mark(study.passed)}</p>")
        return "\n".join(lines)


def render(study: Study) -> str:
    """The page of ``study``, as text."""
    page = Page(study)
    sections = page.sections()
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    navigation = "".join(f'<li><a href="#{s.key}">{escape(s.title)}</a></li>' for s in sections)
    body = "\n".join(f'<section id="{s.key}"><h2>{escape(s.title)}</h2>\n{s.body}\n</section>' for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{GENERATOR} {escape(__version__)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(study.model.get("name", "run"))}: neurodeploy {escape(study.kind)} report</title>
<style>{STYLE}</style>
</head>
<body>
{page.header()}
<nav><ul>{navigation}</ul></nav>
{body}
<footer><p class="omitted">Written by neurodeploy {escape(__version__)} at {created}.</p></footer>
</body>
</html>
"""


def raster_window(spikes, divergence: Divergence | None):
    """The ticks a raster shows (at most ``RASTER_TICKS``: from a tenth of that before the first divergence,
    else from the start) and a function keeping the ticks of a list of trains within them."""
    ticks = int(round(spikes.duration_ms / spikes.dt_ms))
    start = 0
    if ticks > RASTER_TICKS and divergence is not None:
        start = max(0, min(divergence.tick - RASTER_TICKS // 10, ticks - RASTER_TICKS))
    stop = min(ticks, start + RASTER_TICKS)
    return (start, stop), lambda trains: [train[(train >= start) & (train < stop)] for train in trains]


def window_text(spikes, window: tuple[int, int]) -> str:
    """What a raster leaves out of the run, for its caption (nothing when it shows all of it)."""
    ticks = int(round(spikes.duration_ms / spikes.dt_ms))
    return "" if window == (0, ticks) else f", ticks {window[0]} to {window[1]} of {ticks}"


def synapse_series(structural: dict, label: str, ticks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A structural projection over the run, from structural.json: the ticks at which something changed (and
    the first and last), the synapses held from each, and the formations and eliminations up to each. The
    synapses at the start are those at the end less what formed plus what was eliminated."""
    events = sorted(structural["events"].get(label, []), key=lambda event: event[0])
    end = len(structural["connectivity"][label]["end"])
    change = np.array([1 if event[1] == "form" else -1 for event in events], dtype=np.int64)
    at = np.array([event[0] for event in events], dtype=np.int64)
    moments = np.unique(np.concatenate([[0], at, [ticks]]))
    happened = np.searchsorted(at, moments, side="right")  # events up to and including each moment
    held = end - int(change.sum()) + np.concatenate([[0], np.cumsum(change)])[happened]
    formed = np.concatenate([[0], np.cumsum(change > 0)])[happened]
    eliminated = np.concatenate([[0], np.cumsum(change < 0)])[happened]
    return moments, held, formed, eliminated


def _matched_weights(ours: dict, theirs: dict) -> tuple[int, float | None]:
    """Synapses (pre, post) both runs hold, and the largest absolute difference of their final weights."""
    mine = {(int(a), int(b)): w for a, b, w in zip(ours["pre"], ours["post"], ours["weight"])}
    differences = [
        abs(mine[(int(a), int(b))] - w)
        for a, b, w in zip(theirs["pre"], theirs["post"], theirs["weight"])
        if (int(a), int(b)) in mine
    ]
    return len(differences), (float(max(differences)) if differences else None)


def _traces_table(recorded: dict, key: str) -> str:
    """compare_traces' result: every trace both runs recorded, bit-identical or its largest difference."""
    if "not_compared" in recorded:
        return omitted(f"traces not compared: {recorded['not_compared']}")
    rows = [
        [name, number(item["bit_identical"]), number(item["max_abs_difference"]), item["samples"]]
        for name, item in recorded["traces"].items()
    ]
    return "<p>Every trace both runs recorded:</p>" + table(
        ["trace", "bit-identical", "largest |difference|", "samples"], rows, key=key
    )


def _stdp_text(stdp: dict) -> str:
    """A plastic projection's rule as described and as implemented, its additive amplitudes also in weight
    steps (an amplitude below one step never changes a weight)."""
    step = stdp["weight_step"]
    parts = []
    for name in (*STDP_PARAMETERS, "heterosynaptic"):
        if name not in stdp:
            continue
        described, implemented = stdp[name]
        text = f"{name} {number(described, 7)} -> {number(implemented, 7)}"
        if step and name in ("A_plus", "A_minus", "heterosynaptic") and stdp.get("weight_dependence") == "additive":
            text += f" ({number(implemented / step, 3)} steps)"
        parts.append(text)
    return f"weight step {number(step, 7)}; " + ", ".join(parts)


def _range(pair: list[float]) -> str:
    low, high = pair
    return number(low, 7) if low == high else f"{number(low, 7)}..{number(high, 7)}"


def _records(document: dict) -> str:
    """A report's per-label records (compile.json's quantization: one mapping per projection or population,
    possibly grouped) as tables, one column per label when they have more fields than labels."""
    grouped = all(isinstance(v, dict) and all(isinstance(i, dict) for i in v.values()) for v in document.values())
    parts = []
    for group, records in (document if grouped else {"": document}).items():
        if not records:
            continue
        fields = list(dict.fromkeys(key for record in records.values() for key in record))
        title = f"<p>{escape(group)}</p>" if group else ""
        if len(fields) > len(records):
            rows = [[name, *(compact(record.get(name, "-")) for record in records.values())] for name in fields]
            parts.append(title + table(["", *records], rows))
        else:
            rows = [[label, *(compact(record.get(name, "-")) for name in fields)] for label, record in records.items()]
            parts.append(title + table(["", *fields], rows))
    return "\n".join(parts)


def _explained_divergence(explain, pair: Pair) -> Divergence | None:
    """The first divergence the explanation (deploy.json's explain, ``runs.explain``) names for this pair."""
    entries = explain.get("explanations", []) if isinstance(explain, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or (entry.get("run"), entry.get("reference")) != (pair.run, pair.reference):
            continue
        first = entry.get("first_divergence")
        if isinstance(first, dict) and {"tick", "time_ms", "neurons"} <= first.keys():
            return Divergence.from_dict(first)
    return None


def _parting_tick(effect: dict) -> str:
    """The tick at which the two sides first part with an effect reverted alone; never, where they do not."""
    tick = effect["first_divergence_tick"]
    return "never" if tick is None else number(tick)
