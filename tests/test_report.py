"""report.html: its numbers against the folders it reports (compare() recomputed, the compile report, the
saved weights and structural events), the first divergence against a brute-force search, the quantization
summary against hand-derived values, sections without data saying why, and the page opened in a real
headless Chromium: every figure drawn, nothing fetched, a clean console."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT
from neurodeploy.cli import main
from neurodeploy.report import REPORT, write_report
from neurodeploy.report.browser import headless_chromium, unavailable
from neurodeploy.report.figures import log_x, svg, unmatched
from neurodeploy.report.page import raster_window, synapse_series
from neurodeploy.results import SpikeRecord
from neurodeploy.runs.compare import compare
from neurodeploy.runs.explain import Divergence
from neurodeploy.runs.quantization import RELATIVE_ERROR_EDGES, quantization_effects
from neurodeploy.runs.rundir import MARKER, STORE, read_run

BROWSER = unavailable()


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class Tables(HTMLParser):
    """The text of every cell of the page's tables that have an id: id -> rows (the header row first)."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if tag == "table" and "id" in attributes:
            self.current = self.tables.setdefault(attributes["id"], [])
        elif tag == "tr" and self.current is not None:
            self.row = []
            self.current.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables(text: str) -> dict[str, list[list[str]]]:
    return Tables(text).tables


def section(text: str, key: str) -> str:
    start = text.index(f'<section id="{key}">')
    return text[start : text.index("</section>", start)]


def as_number(cell: str) -> float:
    return float(cell.rstrip("%")) / (100.0 if cell.endswith("%") else 1.0)


def assert_rates_table(rows: list[list[str]], expected) -> None:
    """A rates table's rows (header first) against compare()'s result ``expected``, to the digits shown."""
    header, *body = rows
    items = {**expected.populations, "overall": expected.overall}
    assert [row[0].removesuffix(" (input)") for row in body] == list(items)
    for row, item in zip(body, items.values()):
        cells = dict(zip(header, row))
        assert int(cells["spikes run"]) == item.run_spikes and int(cells["spikes reference"]) == item.reference_spikes
        assert int(cells["|Δcount| max"]) == item.max_abs_count_difference
        for column, value in (
            ("rate run (Hz)", item.run_rate_hz),
            ("rate reference (Hz)", item.reference_rate_hz),
            ("rate difference (Hz)", item.run_rate_hz - item.reference_rate_hz),
            ("|Δcount| mean", item.mean_abs_count_difference),
            ("same tick", item.same_tick_fraction),
            ("±1 tick", item.within_one_fraction),
            ("van Rossum", item.van_rossum),
        ):
            assert as_number(cells[column]) == pytest.approx(value, rel=1e-3, abs=1e-4), column


def brute_force_divergence(run: SpikeRecord, reference: SpikeRecord, labels) -> tuple[int, str, int] | None:
    """The first tick at which some neuron spikes in one run and not the other, tick by tick."""
    ticks = int(round(reference.duration_ms / reference.dt_ms))
    trains = {label: (run.ticks(label), reference.ticks(label)) for label in labels}
    for tick in range(ticks):
        for label, (ours, theirs) in trains.items():
            for neuron, (a, b) in enumerate(zip(ours, theirs)):
                if (tick in set(a.tolist())) != (tick in set(b.tolist())):
                    return tick, label, neuron
    return None


# --- the pieces, on hand-made data --------------------------------------------------------------------------


def record(populations: dict[str, list[list[int]]]) -> SpikeRecord:
    return SpikeRecord(
        1.0, 20.0, "test", {label: [np.array(t, dtype=float) for t in trains] for label, trains in populations.items()}
    )


def test_the_rasters_mark_each_spike_the_other_run_lacks_in_its_tick():
    run = record({"A": [[1, 5, 9], [3]]})
    reference = record({"A": [[1, 5, 8], [3]]})
    ticks, neurons = unmatched(run.ticks("A"), reference.ticks("A"))
    assert ticks.tolist() == [9] and neurons.tolist() == [0]
    ticks, neurons = unmatched(reference.ticks("A"), run.ticks("A"))
    assert ticks.tolist() == [8] and neurons.tolist() == [0]


@pytest.mark.parametrize(
    "limits, expected",
    [
        ((1e-6, 1e-2), {1e-6: "10⁻⁶", 1e-5: "10⁻⁵", 1e-4: "10⁻⁴", 1e-3: "10⁻³", 1e-2: "10⁻²"}),
        ((2e-5, 8e-5), {2e-5: "2×10⁻⁵", 3e-5: "3×10⁻⁵", 4e-5: "4×10⁻⁵", 6e-5: "6×10⁻⁵"}),  # matplotlib's choice
        ((0.5, 50.0), {1.0: "10⁰", 10.0: "10¹"}),
    ],
)
def test_a_log_axis_keeps_matplotlib_s_ticks_and_labels_in_plain_text(limits, expected):
    from matplotlib.figure import Figure

    labels = []
    for plain in (False, True):
        figure = Figure()
        ax = figure.subplots()
        log_x(ax) if plain else ax.set_xscale("log")
        ax.set_xlim(*limits)
        svg(figure, "axis")  # drawn: the tick labels are set
        ticks = [*ax.xaxis.get_majorticklabels(), *ax.xaxis.get_minorticklabels()]
        shown = [(float(f"{t.get_position()[0]:.6g}"), t.get_text()) for t in ticks if t.get_text()]
        labels.append(dict(sorted((x, text) for x, text in shown if limits[0] <= x <= limits[1])))
    mathtext, plain = labels
    assert plain == expected
    assert list(mathtext) == list(plain) and all(text.startswith("$\\mathdefault{") for text in mathtext.values())


def test_quantization_effects_compare_each_parameter_and_synapse_with_what_was_described():
    network = nd.Network("q", duration=10.0)
    network.spike_source("S", [[1.0], [2.0], [3.0]])
    network.population("P", 3, parameters={"tau_m": 20.0, "v_thresh": -50.0})
    network.project("S", "P", nd.OneToOne(), weight=[1.0, 0.5, 0.3], delay=1.0, label="S->P")
    population, projection = network.populations["P"], network.projections["S->P"]
    implemented = network.replaced(
        populations={"P": replace(population, cell=replace(population.cell, tau_m=25.0, v_thresh=-49.5))},
        projections={"S->P": replace(projection, weight=np.array([1.0, 0.55, 0.0]))},
    )
    effects = quantization_effects(network, implemented)
    synapses = effects["projections"]["S->P"]
    assert (synapses["synapses"], synapses["exact"], synapses["lost_to_zero"], synapses["delays_changed"]) == (
        3,
        1,
        1,
        0,
    )
    assert synapses["largest_relative_error"] == pytest.approx(1.0)
    assert synapses["mean_relative_error"] == pytest.approx((0.0 + 0.1 + 1.0) / 3)
    counts = np.array(synapses["relative_error_counts"])
    assert counts.sum() == 2 and "plasticity" not in synapses
    for error in (0.1, 1.0):  # each inexact synapse in the quarter decade holding its error
        assert counts[min(np.searchsorted(RELATIVE_ERROR_EDGES, error, side="right") - 1, counts.size - 1)] >= 1
    quantities = effects["populations"]["P"]["quantities"]
    decay = quantities["decay of tau_m"]
    assert decay["described"] == [pytest.approx(np.exp(-1 / 20))] * 2
    assert decay["implemented"] == [pytest.approx(np.exp(-1 / 25))] * 2
    assert decay["max_relative_difference"] == pytest.approx((np.exp(-1 / 25) - np.exp(-1 / 20)) / np.exp(-1 / 20))
    threshold = quantities["v_thresh"]
    assert threshold["max_abs_difference"] == pytest.approx(0.5) and threshold["neurons_differing"] == 3
    assert quantities["v_rest"]["neurons_differing"] == 0 and quantities["v_rest"]["max_relative_difference"] == 0


def test_synapse_series_replays_the_events_back_from_the_synapses_at_the_end():
    structural = {
        "events": {"X": [[3, "eliminate", 0, 1], [5, "form", 2, 1], [5, "form", 3, 1], [8, "eliminate", 2, 1]]},
        "connectivity": {"X": {"end": [[1, 0], [3, 1], [4, 1]]}},
    }
    ticks, held, formed, eliminated = synapse_series(structural, "X", 10)
    assert ticks.tolist() == [0, 3, 5, 8, 10]
    assert held.tolist() == [3, 2, 4, 3, 3]  # 3 at the end, less 2 formed, plus 2 eliminated: 3 at the start
    assert formed.tolist() == [0, 0, 2, 2, 2] and eliminated.tolist() == [0, 1, 1, 2, 2]


# --- a compare folder: two runs of one model that part ------------------------------------------------------


def divergent_network(weight: float) -> nd.Network:
    """Sixty inputs onto twelve neurons recording v; a slightly different weight moves spikes by a tick."""
    rng = np.random.default_rng(4)
    network = nd.Network("divergent", seed=2, duration=300.0)
    network.spike_source("inputs", [np.unique(rng.integers(0, 300, 6)).astype(float).tolist() for _ in range(60)])
    network.population("cells", 12)
    network.project("inputs", "cells", nd.FixedProbability(0.3, seed=5), weight=weight, delay=1.0)
    network.record("cells", ["spikes", "v"])
    return network


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """``a`` and ``b`` (weights 0.7 and 0.72, emulated) and ``compare a b``, run with relative paths."""
    folder = tmp_path_factory.mktemp("compared")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name, weight in (("a", 0.7), ("b", 0.72)):
            nd.save(divergent_network(weight), f"{name}.json")
            assert invoke("run", f"{name}.json", "--backend", "spinnaker", "--out", name).exit_code == 0
        assert invoke("compare", "a", "b").exit_code == 1  # they part beyond the thresholds
    return folder


def test_a_compare_folder_shows_the_comparison_with_compare_s_numbers(compared):
    result = invoke("report", compared / "a")
    assert result.exit_code == 0 and result.output.strip() == str(compared / "a" / REPORT)
    text = (compared / "a" / REPORT).read_text()
    run, reference = read_run(compared / "a"), read_run(compared / "b")
    expected = compare(run.spikes, reference.spikes, inputs=("inputs",))
    found = tables(text)
    assert_rates_table(found["rates-0"], expected)
    verdict = dict(zip(*found["comparisons"]))
    assert verdict["verdict"] == "FAIL" and verdict["run"] == "a" and verdict["reference"] == "b"
    assert as_number(verdict["same tick"]) == pytest.approx(expected.overall.same_tick_fraction, abs=1e-4)
    tick, label, neuron = brute_force_divergence(run.spikes, reference.spikes, ["cells"])
    traces = section(text, "traces")
    assert f"{label}[{neuron}], which first parts at tick {tick}" in traces and traces.count("<svg") == 1
    ours, theirs = (np.load(compared / name / "traces.npz")["cells.v"] for name in ("a", "b"))
    _, identical, largest, samples = found["traces-a-b"][1]
    assert (identical, int(samples)) == ("no", ours.size)
    assert as_number(largest) == pytest.approx(np.abs(ours - theirs).max(), rel=1e-3)
    assert f"first divergence at tick {tick}, {label}[{neuron}]" in section(text, "rasters")
    assert "not a deploy" in section(text, "quantization") and "no run saved final weights" in section(text, "weights")
    assert "no run was driven by an operation protocol" in section(text, "answers")
    assert not re.search(r"((src|href)\s*=|url\()\s*[\"']?(https?:|//)", text)  # nothing to fetch


def test_a_single_run_shows_its_spikes_and_says_what_it_cannot_show(compared):
    path = write_report(compared / "b")
    text = path.read_text()
    assert "a single run: nothing was compared" in section(text, "verdict")
    assert "no divergence" in section(text, "traces") and section(text, "rasters").count("<svg") == 1
    spikes = json.loads((compared / "b" / "spikes.json").read_text())["populations"]
    rows = tables(text)["rates-b"]
    assert [row[:3] for row in rows[1:]] == [
        [label, str(entry["size"]), str(sum(len(t) for t in entry["spike_times_ms"]))]
        for label, entry in spikes.items()
    ]


def test_the_report_is_a_file_neurodeploy_wrote_and_never_a_users(compared, tmp_path):
    first = write_report(compared / "b")
    version = Path(os.path.realpath(compared / "b" / "manifest.json")).parent
    assert REPORT in json.loads((version / MARKER).read_text())["files"] and (compared / "b" / REPORT).is_symlink()
    assert write_report(compared / "b") == first  # ours: replaced
    mine = tmp_path / "mine"
    assert invoke("run", compared / "a.json", "--backend", "spinnaker", "--out", mine).exit_code == 0
    (mine / REPORT).write_text("<p>my notes</p>")
    result = invoke("report", mine)
    assert result.exit_code == 2 and "was not written by neurodeploy" in result.output
    assert (mine / REPORT).read_text() == "<p>my notes</p>"
    (tmp_path / "empty").mkdir()
    result = invoke("report", tmp_path / "empty")
    assert (
        result.exit_code == 2
        and result.output.count("\n") == 1
        and "neither a deploy.json nor a manifest.json" in (result.output)
    )
    assert not (tmp_path / "empty" / STORE).exists()


# --- deploys: feed-forward to both targets, topographic map to spinn5 ---------------------------------------


def deploy(folder: Path, *args) -> Path:
    """``neurodeploy deploy ... --out runs/NAME`` as a user types it (a relative --out), in ``folder``."""
    out = "runs/" + args[0]
    completed = subprocess.run(
        [sys.executable, "-m", "neurodeploy", "deploy", *args, "--out", out],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr
    assert f"report: {out}/{REPORT}" in completed.stdout
    return folder / out


@pytest.fixture(scope="module")
def feedforward(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploys")
    arguments = ("--param", "n_neurons=40", "--param", "duration_ms=1000", "--target", "spinn5", "--target", "loihi2")
    return deploy(folder, "feedforward-poisson", *arguments)


@pytest.fixture(scope="module")
def topographic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploys")
    arguments = ("--param", "n=8", "--param", "duration_ms=300", "--target", "spinn5", "--explain-runs", "0")
    return deploy(folder, "topographic-map", *arguments)


PAIRS = [
    ("correctness", "spinn5/target", "spinn5/reference"),
    ("correctness", "loihi2/target", "loihi2/reference"),
    ("quantization_cost", "spinn5/target", "reference-float"),
    ("quantization_cost", "loihi2/target", "reference-float"),
    ("portability", "loihi2/target", "spinn5/target"),
]


@pytest.mark.slow
def test_a_deploy_report_holds_the_verdict_rates_quantization_rules_and_mapping_it_found(feedforward):
    text = (feedforward / REPORT).read_text()
    found = tables(text)
    summary = json.loads((feedforward / "deploy.json").read_text())
    rows = [dict(zip(found["comparisons"][0], row)) for row in found["comparisons"][1:]]
    assert [(row["comparison"], row["run"], row["reference"]) for row in rows] == PAIRS
    for row, item in zip(rows, summary["comparisons"]):
        overall = item["spikes"]["overall"]
        assert as_number(row["same tick"]) == pytest.approx(overall["same_tick_fraction"], abs=1e-4)
    assert [row["verdict"] for row in rows[:2]] == ["PASS", "PASS"]
    assert [row[:3] for row in found["targets"][1:]] == [["spinn5", "spinnaker", "PASS"], ["loihi2", "lava", "PASS"]]
    runs = {name: read_run(feedforward / name).spikes for pair in PAIRS for name in pair[1:]}
    for index, (_, run, reference) in enumerate(PAIRS):
        assert_rates_table(found[f"rates-{index}"], compare(runs[run], runs[reference], inputs=("inputs",)))
    # The quantization summary against the SpiNNaker toolchain's own report of the same weights.
    compiled = json.loads((feedforward / "spinn5" / "compile" / "compile.json").read_text())
    projection = dict(zip(*found["quantization-projections-spinn5"]))
    own = compiled["quantization"]["inputs->neurons"]
    assert int(projection["synapses"]) == own["synapses"]
    assert int(projection["lost to zero"]) == own["synapses_quantized_to_zero"]
    assert as_number(projection["largest relative error"]) == pytest.approx(own["largest_relative_weight_error"], 1e-3)
    parameters = {row[1]: row for row in found["quantization-populations-spinn5"][1:]}
    assert parameters["tau_refrac"][3:5] == ["0.1", "1"]  # sPyNNaker counts a refractory period in whole ticks
    assert parameters["v_thresh"][-1] == "0"
    findings = found["findings-spinn5"][1:]
    assert [[f["level"], f["subject"], f["message"]] for f in compiled["findings"]] == findings
    assert any("ring buffer would saturate" in message for *_, message in findings)
    vertices = [row[1] for row in found["mapping-spinn5"][1:]]
    assert vertices == [v["vertex"] for items in compiled["mapping"]["populations"].values() for v in items]
    resources = summary["per_target"]["loihi2"]["resources"]  # Lava is not mapped: its resources are shown
    assert "mapping-loihi2" not in found and f"neuro_cores {resources['neuro_cores']}" in section(text, "mapping")
    assert "feedforward-poisson" in text and "no run saved final weights" in section(text, "weights")


@pytest.mark.slow
def test_a_deploy_report_shows_why_its_runs_part(feedforward):
    """The explanation the deploy made, shown, and its first divergences marked on the rasters: those of a
    brute-force search of the runs' spike trains."""
    text = (feedforward / REPORT).read_text()
    summary = json.loads((feedforward / "deploy.json").read_text())
    explained = summary["explain"]["explanations"]
    spikes = {name: read_run(feedforward / name).spikes for pair in PAIRS for name in pair[1:]}
    parting = {
        (kind, run, reference): brute_force_divergence(spikes[run], spikes[reference], ["neurons"])
        for kind, run, reference in PAIRS
    }
    failed = {(item["kind"], item["run"], item["reference"]) for item in summary["comparisons"] if not item["passed"]}
    expected = [pair for pair, found in parting.items() if found and (pair[0] != "correctness" or pair in failed)]
    assert expected, "quantization parts the targets' runs from the float model"
    assert [(item["kind"], item["run"], item["reference"]) for item in explained] == expected
    shown, rasters = section(text, "explain"), section(text, "rasters")
    assert "<h2>Why the runs part</h2>" in shown
    for item in explained:
        assert html.escape(item["sentence"][1:]) in shown
        tick, label, neuron = parting[(item["kind"], item["run"], item["reference"])]
        assert item["first_divergence"]["tick"] == tick
        assert f"first divergence at tick {tick}, {label}[{neuron}] (from the explanation)" in rasters
        effects = tables(text)[f"explain-{item['run']}-{item['reference']}"][1:]
        assert [row[1] for row in effects] == [effect["name"] for effect in item["attribution"]["effects"]]


@pytest.mark.slow
def test_a_topographic_map_report_shows_its_learned_weights_and_rewiring(topographic):
    text = (topographic / REPORT).read_text()
    found = tables(text)
    summary = json.loads((topographic / "deploy.json").read_text())
    structural = found["structural-spinn5/target-spinn5/reference"]
    correctness = summary["comparisons"][0]
    assert [[row[0], int(row[1]), int(row[2])] for row in structural[1:]] == [
        [label, item["run"], item["reference"]] for label, item in correctness["structural"].items()
    ]
    for run, reference in (("spinn5/target", "spinn5/reference"), ("spinn5/target", "reference-float")):
        rows = found[f"weights-{run}-{reference}"]
        ours, theirs = (np.load(topographic / name / "weights.npz") for name in (run, reference))
        for row in rows[1:]:
            label = row[0]
            assert int(row[3]) == np.unique(ours[f"{label}.weight"]).size
            assert int(row[4]) == np.unique(theirs[f"{label}.weight"]).size
    # Each of the 64 neurons starts with 16 synapses per projection (the model's slots); what is held at the end
    # is what the run's connectivity says.
    document = json.loads((topographic / "spinn5" / "target" / "structural.json").read_text())
    for label in ("S->P", "P->P"):
        _, held, *_ = synapse_series(document, label, 300)
        assert held[0] == 64 * 16 and held[-1] == len(document["connectivity"][label]["end"])
    assert section(text, "structural").count("<svg") == 2 and section(text, "weights").count("<svg") == 2
    assert "not explained: the deploy ran with --explain-runs 0" in section(text, "explain")


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is not None, reason=f"the browser test {BROWSER}")
@pytest.mark.parametrize("folder", ["compared", "feedforward", "topographic"])
def test_every_figure_renders_in_a_headless_browser_with_a_clean_console(folder, request):
    path = request.getfixturevalue(folder)
    report = write_report(path / "a") if folder == "compared" else path / REPORT
    drawn = report.read_text().count("<figure>")
    assert drawn >= 3
    with headless_chromium() as browser:
        browser.get(report.resolve().as_uri())
        sizes = browser.execute_script(
            "return Array.from(document.querySelectorAll('figure > svg, img')).map(function (e) {"
            " var box = e.getBoundingClientRect();"
            " return [e.tagName, box.width, box.height, e.naturalWidth === undefined ? 1 : e.naturalWidth]; });"
        )
        fetched = browser.execute_script("return performance.getEntriesByType('resource').length;")
        ids = browser.execute_script(
            "return Array.from(document.querySelectorAll('body > section[id], table[id]')).map(e => e.id);"
        )
        console = browser.get_log("browser")
    assert len([size for size in sizes if size[0] == "svg"]) == drawn
    assert all(width > 0 and height > 0 and natural > 0 for _, width, height, natural in sizes), sizes
    assert fetched == 0 and len(ids) == len(set(ids)), ids
    assert not [entry for entry in console if entry["level"] in ("SEVERE", "WARNING")], console


def test_a_long_run_s_raster_shows_a_window_from_just_before_its_first_divergence():
    spikes = SpikeRecord(1.0, 20000.0, "test", {"A": [np.array([10.0, 12000.0, 19990.0])]})
    assert raster_window(spikes, None)[0] == (0, 5000)
    window, shown = raster_window(spikes, Divergence(10000, 10000.0, {"A": {"run_only": [0], "reference_only": []}}))
    assert window == (9500, 14500) and [t.tolist() for t in shown(spikes.ticks("A"))] == [[12000]]
    assert raster_window(spikes, Divergence(19900, 19900.0, {"A": {"run_only": [0], "reference_only": []}}))[0] == (
        15000,
        20000,
    )
    short = SpikeRecord(1.0, 300.0, "test", {"A": [np.array([10.0])]})
    assert raster_window(short, Divergence(200, 200.0, {"A": {"run_only": [0], "reference_only": []}}))[0] == (0, 300)


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is not None, reason=f"the screenshot {BROWSER}")
def test_the_screenshot_script_pictures_the_top_of_a_report(compared, tmp_path):
    from PIL import Image  # matplotlib's image library

    out = tmp_path / "shot.png"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "report_screenshot.py"),
            compared / "a",
            "--out",
            out,
            "--height",
            "700",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    with Image.open(out) as image:
        assert image.size == (1200, 700)
        pixels = np.asarray(image.convert("L"))
    assert pixels.min() < 64 and pixels.max() > 240  # text on the page, not a blank capture


def test_protocol_answers_are_tabled_per_run_as_the_runs_decoded_them(tmp_path):
    for name in ("cam", "again"):
        arguments = ("ca3-cam", "--param", "cue_size=5", "--param", "content_size=10", "--protocol", "ca3-cam-exp1")
        assert invoke("run", *arguments, "--backend", "spinnaker", "--out", tmp_path / name).exit_code == 0
    assert invoke("compare", tmp_path / "cam", tmp_path / "again").exit_code == 0
    text = write_report(tmp_path / "cam").read_text()
    answers = json.loads((tmp_path / "cam" / "answers.json").read_text())
    header, *rows = tables(text)["answers-table"]
    assert header[:3] == ["#", "op", "t"] and len(rows) == len(answers["operations"])
    reference = str(tmp_path / "again")
    for row, operation in zip(rows, answers["operations"]):
        cells = dict(zip(header, row))
        assert (cells["op"], int(cells["t"])) == (operation["op"], operation["t"])
        assert cells["ideal? cam"] == ("yes" if operation["agrees"] else "no")
        assert cells["answer cam"] == cells[f"answer {reference}"]  # the same run twice answers alike
    summary = answers["summary"]
    assert f"cam: {summary['agree']}/{summary['operations']} agree with an ideal memory" in section(text, "answers")


def test_a_deploy_the_design_rules_refuse_reports_the_errors_and_that_nothing_ran(tmp_path):
    network = nd.Network("refused", semantics=nd.Semantics(reset="subtract"), duration=20.0)
    network.spike_source("S", [[1.0]])
    network.population("P", 2, "Izhikevich")  # resets v to c: no reset by subtraction on sPyNNaker
    network.project("S", "P", nd.AllToAll(), weight=1.0, delay=1.0)
    network.record("P")
    path = nd.save(network, tmp_path / "refused.json")
    result = invoke("deploy", path, "--target", "spinn5", "--out", tmp_path / "out")
    assert result.exit_code == 1 and f"report: {tmp_path / 'out' / REPORT}" in result.output
    text = (tmp_path / "out" / REPORT).read_text()
    errors = json.loads((tmp_path / "out" / "deploy.json").read_text())["per_target"]["spinn5"]["errors"]
    assert len(errors) >= 1 and "nothing ran: the design rules refused the network" in section(text, "verdict")
    shown = section(text, "rules")
    assert all(error.split(": ", 2)[-1].replace("'", "&#x27;") in shown for error in errors)
    assert any("Izhikevich resets v to c" in message for *_, message in tables(text)["findings-spinn5"][1:])
    assert "&lt;svg" not in text and "<svg" not in text  # no run: no figure
