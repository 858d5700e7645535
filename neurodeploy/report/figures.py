"""The report's figures, drawn with matplotlib (its object interface: no pyplot state, no display) and
returned as inline SVG. Every function takes the data it plots, already read, so that a test can check a
figure's numbers against the run folders."""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator

from neurodeploy.runs.explain import Divergence

MATCHED, RUN_ONLY, REFERENCE_ONLY = "0.45", "tab:red", "tab:blue"
RUN_COLOUR, REFERENCE_COLOUR = "tab:red", "tab:blue"
RASTERIZE_ABOVE = 5000
"""Markers beyond which a plot's points are embedded as an image inside the SVG (a vector per spike would
make the page megabytes)."""
WIDTH = 9.0


def svg(figure: Figure, key: str) -> str:
    """The figure as an ``<svg>`` element; ``key`` (unique in the page) salts its internal ids so that the
    clip paths of two figures in one page never share an id."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": key, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    start, end = text.find("<metadata>"), text.find("</metadata>")  # matplotlib's RDF credits: not shown
    return text[:start] + text[end + len("</metadata>") :] if 0 <= start < end else text


SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
MATHTEXT_LABEL = re.compile(r"\$\\mathdefault\{(.*)\}\$")


class PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's labels of a log axis (``10^-5``, ``2x10^-5``) in plain text with Unicode superscripts: the
    same labels, drawn without parsing each as mathtext (most of a small figure's drawing time)."""

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        math = MATHTEXT_LABEL.fullmatch(label)
        if math is None:
            return label
        power = re.sub(r"\^\{(-?\d+)\}", lambda exponent: exponent.group(1).translate(SUPERSCRIPTS), math.group(1))
        return power.replace(r"\times", "\u00d7").replace(r"\cdot", "\u00b7")


def log_x(ax) -> None:
    """A log x axis labelled as matplotlib's own would be (:class:`PlainLogFormatter`)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PlainLogFormatter(10))
    ax.xaxis.set_minor_formatter(PlainLogFormatter(10, labelOnlyBase=False))


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    figure.set_dpi(100)
    return figure


def raster_overlay(
    run_ticks: dict[str, list[np.ndarray]],
    reference_ticks: dict[str, list[np.ndarray]] | None,
    dt_ms: float,
    window: tuple[int, int],
    run_name: str,
    reference_name: str | None,
    divergence: Divergence | None,
) -> Figure:
    """One raster per population (tick indices per neuron): spikes in both runs in the same tick in grey,
    those only the run has in red, those only the reference has in blue (a third of a row higher), and the
    first divergence as a dashed line through a circled spike. Without a reference, the run's spikes alone.
    ``window``: the ticks shown (the spikes given may lie outside it)."""
    labels = list(run_ticks)
    heights = [max(0.9, min(3.0, 0.7 + len(run_ticks[label]) / 60.0)) for label in labels]
    figure = _figure(sum(heights) + 0.7)
    axes = figure.subplots(len(labels), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    for ax, label in zip(axes, labels):
        ours = run_ticks[label]
        theirs = ours if reference_ticks is None else reference_ticks[label]
        both_ticks, both_neurons = _matched(ours, theirs)
        run_alone, reference_alone = unmatched(ours, theirs), unmatched(theirs, ours)
        points = both_ticks.size + run_alone[0].size + reference_alone[0].size
        rasterized = points > RASTERIZE_ABOVE
        size = 4.0 if points < 2000 else 1.5
        ax.scatter(
            both_ticks * dt_ms,
            both_neurons,
            s=size,
            c=MATCHED,
            marker="o",
            linewidths=0,
            rasterized=rasterized,
            label=run_name if reference_ticks is None else "same tick in both",
        )
        if reference_ticks is not None:
            ax.scatter(
                run_alone[0] * dt_ms,
                run_alone[1],
                s=size * 8,
                c=RUN_ONLY,
                marker="|",
                rasterized=rasterized,
                label=f"only {run_name}",
            )
            ax.scatter(
                reference_alone[0] * dt_ms,
                reference_alone[1] + 0.33,
                s=size * 8,
                c=REFERENCE_ONLY,
                marker="|",
                rasterized=rasterized,
                label=f"only {reference_name}",
            )
        if divergence is not None and divergence.population == label:
            ax.axvline(divergence.tick * dt_ms, color="k", linestyle="--", linewidth=0.8, label="first divergence")
            ax.scatter(
                [divergence.tick * dt_ms], [divergence.neuron], s=90, facecolors="none", edgecolors="k", linewidths=1.0
            )
        ax.set_ylim(-0.8, len(ours) - 0.2)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    handles = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(text, handle)
    figure.legend(handles.values(), handles.keys(), loc="outside upper right", ncols=4, fontsize=7, markerscale=1.5)
    axes[-1].set_xlim(window[0] * dt_ms, window[1] * dt_ms)
    axes[-1].set_xlabel("time (ms)")
    return figure


def _matched(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ticks = [np.intersect1d(a, b, assume_unique=True) for a, b in zip(ours, theirs)]
    neurons = [np.full(t.size, index) for index, t in enumerate(ticks)]
    if not ticks:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(ticks), np.concatenate(neurons)


def rates_and_counts(
    populations: dict[str, dict],
    count_differences: dict[str, np.ndarray],
    run_name: str,
    reference_name: str,
) -> Figure:
    """Left: each population's rate in both runs (``populations``: compare's per-population dicts). Right:
    per neuron, the run's spike count minus the reference's (``count_differences``), per population."""
    figure = _figure(2.8)
    rates, counts = figure.subplots(1, 2, width_ratios=[1, 1.3])
    labels = list(populations)
    x = np.arange(len(labels))
    rates.bar(x - 0.2, [populations[label]["run_rate_hz"] for label in labels], 0.4, color=RUN_COLOUR, label=run_name)
    rates.bar(
        x + 0.2,
        [populations[label]["reference_rate_hz"] for label in labels],
        0.4,
        color=REFERENCE_COLOUR,
        label=reference_name,
    )
    rates.set_xticks(x, labels, rotation=30 if len(labels) > 4 else 0, fontsize=8)
    rates.set_ylabel("rate (Hz)")
    rates.legend(fontsize=7)
    largest = max((int(np.abs(d).max()) for d in count_differences.values() if d.size), default=0)
    edges = np.arange(-largest - 0.5, largest + 1.5)
    for label, differences in count_differences.items():
        counts.hist(differences, bins=edges, histtype="step", linewidth=1.2, label=label)
    counts.set_xlabel(f"spike count {run_name} - {reference_name}, per neuron")
    counts.set_ylabel("neurons")
    counts.legend(fontsize=7)
    return figure


def traces(
    variables: dict[str, tuple[np.ndarray, np.ndarray]],
    window: tuple[int, int],
    dt_ms: float,
    spikes: tuple[np.ndarray, np.ndarray],
    divergence: Divergence,
    run_name: str,
    reference_name: str,
) -> Figure:
    """The divergent neuron's recorded variables (``variables``: name -> (run, reference) samples per tick)
    over ``window`` ticks, its spikes in each run (tick arrays) as ticks along the top, and the first
    divergence as a dashed line."""
    figure = _figure(1.0 + 1.9 * len(variables))
    axes = figure.subplots(len(variables), 1, sharex=True, squeeze=False)[:, 0]
    start, stop = window
    time = np.arange(start, stop) * dt_ms
    for ax, (name, (ours, theirs)) in zip(axes, variables.items()):
        ax.plot(time, theirs[start:stop], color=REFERENCE_COLOUR, linewidth=1.4, label=reference_name)
        ax.plot(time, ours[start:stop], color=RUN_COLOUR, linewidth=0.9, linestyle=(0, (4, 2)), label=run_name)
        ax.axvline(divergence.tick * dt_ms, color="k", linestyle="--", linewidth=0.8)
        ax.set_ylabel(name, fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
    top = axes[0]
    for offset, (ticks, colour) in enumerate(zip(spikes, (RUN_COLOUR, REFERENCE_COLOUR))):
        shown = ticks[(ticks >= start) & (ticks < stop)]
        top.plot(
            shown * dt_ms,
            np.full(shown.size, 1.02 + 0.05 * offset),
            "|",
            color=colour,
            markersize=8,
            transform=top.get_xaxis_transform(),
            clip_on=False,
        )
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(start * dt_ms, (stop - 1) * dt_ms)
    return figure


def weight_errors(projections: dict[str, dict], edges: list[float]) -> Figure:
    """Per projection, a histogram of its synapses' relative weight error (log bins; ``projections``:
    quantization.json's entries), exact synapses and synapses lost to zero in the title."""
    labels = list(projections)
    columns = min(3, len(labels))
    rows = -(-len(labels) // columns)
    figure = _figure(2.3 * rows + 0.3)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    edges = np.asarray(edges)
    for ax, label in zip(axes, labels):
        item = projections[label]
        ax.stairs(item["relative_error_counts"], edges, fill=True, color="tab:purple", alpha=0.8)
        log_x(ax)
        ax.set_title(f"{label}: {item['exact']} exact, {item['lost_to_zero']} lost to zero", fontsize=8)
        ax.set_xlabel("relative weight error")
        ax.set_ylabel("synapses")
    for ax in axes[len(labels) :]:
        ax.set_visible(False)
    return figure


def parameter_errors(populations: dict[str, dict]) -> Figure:
    """Per population, each parameter's largest relative difference between the value described and the
    one implemented (a decay per tick for time constants); exact ones at the axis' left edge, marked."""
    labels = list(populations)
    heights = [0.5 + 0.22 * len(populations[label]["quantities"]) for label in labels]
    figure = _figure(sum(heights) + 0.4)
    axes = figure.subplots(len(labels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, label in zip(axes, labels):
        quantities = populations[label]["quantities"]
        names = list(quantities)
        relative = [quantities[name]["max_relative_difference"] for name in names]
        finite = [value for value in relative if value]
        floor = min(finite) / 10.0 if finite else 1e-9
        shown = [floor if not value else value for value in relative]
        colours = ["0.75" if not value else "tab:orange" for value in relative]
        y = np.arange(len(names))
        ax.barh(y, shown, color=colours)
        for position, value in zip(y, relative):
            text = "exact" if value == 0 else ("inf" if value is None else f"{value:.2g}")
            ax.text(1.01, position, text, transform=ax.get_yaxis_transform(), va="center", fontsize=7)
        log_x(ax)
        ax.set_yticks(y, names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{label} ({populations[label]['cell_type']})", fontsize=8)
    axes[-1].set_xlabel("largest relative difference, implemented vs described")
    return figure


def weight_distributions(
    projections: dict[str, tuple[np.ndarray, np.ndarray | None]], run_name: str, reference_name: str | None
) -> Figure:
    """Per plastic projection, the final weights of both runs (``projections``: label -> (run, reference);
    no reference for one run) on the same bins, with each side's number of distinct values."""
    labels = list(projections)
    columns = min(2, len(labels))
    rows = -(-len(labels) // columns)
    figure = _figure(2.4 * rows + 0.3)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, label in zip(axes, labels):
        ours, theirs = projections[label]
        both = np.concatenate([ours, theirs])
        low, high = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
        edges = np.linspace(low, high if high > low else low + 1.0, 41)
        ax.hist(
            theirs,
            bins=edges,
            color=REFERENCE_COLOUR,
            alpha=0.55,
            label=f"{reference_name} ({np.unique(theirs).size} distinct)",
        )
        ax.hist(
            ours,
            bins=edges,
            histtype="step",
            color=RUN_COLOUR,
            linewidth=1.3,
            label=f"{run_name} ({np.unique(ours).size} distinct)",
        )
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("final weight")
        ax.set_ylabel("synapses")
        ax.legend(fontsize=7)
    for ax in axes[len(labels) :]:
        ax.set_visible(False)
    return figure


def synapse_counts(
    series: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]], dt_ms: float
) -> Figure:
    """Per structural projection, over time: the synapses it holds and the formations and eliminations so
    far, in each run (``series``: label -> run name -> (ticks, synapses, formed, eliminated))."""
    labels = list(series)
    figure = _figure(2.4 * len(labels) + 0.3)
    axes = figure.subplots(len(labels), 2, squeeze=False)
    for (held, events), label in zip(axes, labels):
        for (name, (ticks, synapses, formed, eliminated)), colour, style in zip(
            series[label].items(), (RUN_COLOUR, REFERENCE_COLOUR, "tab:green"), ("-", "--", ":")
        ):
            held.step(ticks * dt_ms, synapses, where="post", color=colour, linestyle=style, label=name)
            events.step(ticks * dt_ms, formed, where="post", color=colour, linestyle=style, label=f"{name}: formed")
            events.step(
                ticks * dt_ms,
                eliminated,
                where="post",
                color=colour,
                linestyle=style,
                alpha=0.5,
                linewidth=2.2,
                label=f"{name}: eliminated",
            )
        held.yaxis.set_major_locator(MaxNLocator(integer=True))
        events.yaxis.set_major_locator(MaxNLocator(integer=True))
        held.set_title(f"{label}: synapses held", fontsize=8)
        held.set_ylabel("synapses")
        events.set_title(f"{label}: events so far", fontsize=8)
        held.legend(fontsize=7)
        events.legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    return figure


def unmatched(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(tick, neuron) of the spikes in ``ours`` (tick indices per neuron) with no spike of the same neuron in
    the same tick in ``theirs``: two arrays."""
    ticks, neurons = [], []
    for neuron, (a, b) in enumerate(zip(ours, theirs)):
        alone = np.setdiff1d(a, b, assume_unique=True)
        ticks.append(alone)
        neurons.append(np.full(alone.size, neuron))
    if not ticks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(ticks).astype(np.int64), np.concatenate(neurons).astype(np.int64)
