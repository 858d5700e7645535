"""How far a run is from a reference run of the same model, per population and overall.

Spike matching is one-to-one per neuron: *same tick* counts spikes at identical ticks; *within k
ticks* is the largest one-to-one matching with ``|tick difference| <= k`` (greedy over sorted ticks,
which is optimal on a line). Fractions are of the reference's spikes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodeploy.compilation import Thresholds
from neurodeploy.errors import ValidationError
from neurodeploy.results import SpikeRecord


@dataclass(eq=False)
class PopulationComparison:
    label: str
    neurons: int
    reference_spikes: int
    run_spikes: int
    same_tick: int
    within_one: int
    mean_abs_count_difference: float
    max_abs_count_difference: int
    worst_neuron: int
    reference_rate_hz: float
    run_rate_hz: float
    van_rossum: float

    @property
    def same_tick_fraction(self) -> float:
        return _fraction(self.same_tick, self.reference_spikes, self.run_spikes)

    @property
    def within_one_fraction(self) -> float:
        return _fraction(self.within_one, self.reference_spikes, self.run_spikes)

    @property
    def rate_error(self) -> float:
        """Relative population-rate difference (0 when both are silent)."""
        if self.reference_rate_hz == 0:
            return 0.0 if self.run_rate_hz == 0 else float("inf")
        return abs(self.run_rate_hz - self.reference_rate_hz) / self.reference_rate_hz

    def to_dict(self) -> dict:
        return {
            "neurons": self.neurons,
            "reference_spikes": self.reference_spikes,
            "run_spikes": self.run_spikes,
            "same_tick": self.same_tick,
            "within_one": self.within_one,
            "same_tick_fraction": self.same_tick_fraction,
            "within_one_fraction": self.within_one_fraction,
            "mean_abs_count_difference": self.mean_abs_count_difference,
            "max_abs_count_difference": self.max_abs_count_difference,
            "worst_neuron": self.worst_neuron,
            "reference_rate_hz": self.reference_rate_hz,
            "run_rate_hz": self.run_rate_hz,
            "rate_error": _finite_or_none(self.rate_error),
            "van_rossum": self.van_rossum,
        }


def _fraction(matched: int, reference: int, run: int) -> float:
    """Matched fraction of reference spikes; two silent runs agree perfectly, a silent reference
    against spikes does not."""
    if reference == 0:
        return 1.0 if run == 0 else 0.0
    return matched / reference


def _finite_or_none(value: float):
    return value if np.isfinite(value) else None


@dataclass(eq=False)
class Comparison:
    populations: dict[str, PopulationComparison]
    overall: PopulationComparison
    thresholds: Thresholds
    van_rossum_tau_ms: float
    inputs: tuple[str, ...] = ()
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "failures": self.failures,
            "thresholds": vars(self.thresholds),
            "van_rossum_tau_ms": self.van_rossum_tau_ms,
            "inputs_not_judged": list(self.inputs),
            "overall": self.overall.to_dict(),
            "populations": {label: item.to_dict() for label, item in self.populations.items()},
        }

    def table(self) -> str:
        return spikes_table(self.to_dict())


def spikes_table(comparison: dict) -> str:
    """A spike comparison (``Comparison.to_dict()``) for people: a row per population and overall, the
    thresholds and the verdict."""
    header = (
        f"{'population':<22} {'ref spikes':>10} {'run spikes':>10} {'same tick':>9} {'±1 tick':>8} "
        f"{'|Δcount| mean/max':>17} {'rate ref/run (Hz)':>19} {'van Rossum':>10}"
    )
    rows = [header, "-" * len(header)]
    inputs = comparison["inputs_not_judged"]
    for label, item in [*comparison["populations"].items(), ("overall", comparison["overall"])]:
        name = f"{label} (input)" if label in inputs else label
        rows.append(
            f"{name:<22} {item['reference_spikes']:>10} {item['run_spikes']:>10} "
            f"{item['same_tick_fraction']:>9.2%} {item['within_one_fraction']:>8.2%} "
            f"{item['mean_abs_count_difference']:>11.3f}/{item['max_abs_count_difference']:<5} "
            f"{item['reference_rate_hz']:>9.2f}/{item['run_rate_hz']:<9.2f} {item['van_rossum']:>10.4f}"
        )
    verdict = "PASS" if comparison["passed"] else "FAIL: " + "; ".join(comparison["failures"])
    t = comparison["thresholds"]
    rows.append(
        f"thresholds: same tick >= {t['min_same_tick']:.2%}, ±1 tick >= {t['min_within_one']:.2%}, "
        f"rate error <= {t['max_rate_error']:.2%}  ->  {verdict}"
    )
    return "\n".join(rows)


def matched_within(reference: np.ndarray, run: np.ndarray, tolerance: int) -> int:
    """Largest one-to-one matching of two sorted tick arrays with ``|a - b| <= tolerance``."""
    if tolerance == 0:
        return int(np.intersect1d(reference, run, assume_unique=True).size)
    if np.array_equal(reference, run):
        return int(reference.size)
    matched = i = j = 0
    while i < reference.size and j < run.size:
        difference = int(run[j]) - int(reference[i])
        if abs(difference) <= tolerance:
            matched, i, j = matched + 1, i + 1, j + 1
        elif difference < 0:
            j += 1
        else:
            i += 1
    return matched


def _van_rossum(reference: list[np.ndarray], run: list[np.ndarray], duration_ms: float, tau_ms: float) -> float:
    """Mean per-neuron van Rossum distance (elephant), skipping identical trains (distance 0)."""
    import neo
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance

    distances = []
    for ref_times, run_times in zip(reference, run):
        if np.array_equal(ref_times, run_times):
            distances.append(0.0)
            continue
        trains = [neo.SpikeTrain(times, units=pq.ms, t_stop=duration_ms * pq.ms) for times in (ref_times, run_times)]
        distances.append(float(van_rossum_distance(trains, time_constant=tau_ms * pq.ms)[0, 1]))
    return float(np.mean(distances)) if distances else 0.0


def _compare_population(label, reference: SpikeRecord, run: SpikeRecord, tau_ms) -> PopulationComparison:
    ref_ticks, run_ticks = reference.ticks(label), run.ticks(label)
    ref_counts = np.array([t.size for t in ref_ticks])
    run_counts = np.array([t.size for t in run_ticks])
    differences = np.abs(run_counts - ref_counts)
    seconds = reference.duration_ms / 1000.0
    return PopulationComparison(
        label=label,
        neurons=len(ref_ticks),
        reference_spikes=int(ref_counts.sum()),
        run_spikes=int(run_counts.sum()),
        same_tick=sum(matched_within(a, b, 0) for a, b in zip(ref_ticks, run_ticks)),
        within_one=sum(matched_within(a, b, 1) for a, b in zip(ref_ticks, run_ticks)),
        mean_abs_count_difference=float(differences.mean()),
        max_abs_count_difference=int(differences.max()),
        worst_neuron=int(differences.argmax()),
        reference_rate_hz=float(ref_counts.sum() / (len(ref_ticks) * seconds)),
        run_rate_hz=float(run_counts.sum() / (len(run_ticks) * seconds)),
        van_rossum=_van_rossum(reference.populations[label], run.populations[label], reference.duration_ms, tau_ms),
    )


def _overall(items: list[PopulationComparison], seconds: float) -> PopulationComparison:
    def total(name):
        return sum(getattr(item, name) for item in items)

    neurons = total("neurons")
    worst = max(items, key=lambda item: item.max_abs_count_difference)
    return PopulationComparison(
        label="overall",
        neurons=neurons,
        reference_spikes=total("reference_spikes"),
        run_spikes=total("run_spikes"),
        same_tick=total("same_tick"),
        within_one=total("within_one"),
        mean_abs_count_difference=float(sum(i.mean_abs_count_difference * i.neurons for i in items) / neurons),
        max_abs_count_difference=worst.max_abs_count_difference,
        worst_neuron=worst.worst_neuron,
        reference_rate_hz=total("reference_spikes") / (neurons * seconds),
        run_rate_hz=total("run_spikes") / (neurons * seconds),
        van_rossum=float(sum(i.van_rossum * i.neurons for i in items) / neurons),
    )


def compare(
    run: SpikeRecord,
    reference: SpikeRecord,
    thresholds: Thresholds = Thresholds(),
    van_rossum_tau_ms: float = 5.0,
    inputs: tuple[str, ...] = (),
) -> Comparison:
    """Compare ``run`` with ``reference`` (same populations, sizes, dt and duration).

    ``inputs`` (spike sources) are listed but left out of the overall figures and the verdict:
    they fire where they were told to on every backend."""
    where = "compare"
    if run.dt_ms != reference.dt_ms:
        raise ValidationError(
            where,
            "dt_ms",
            f"runs have different time steps ({run.dt_ms:g} vs "
            f"{reference.dt_ms:g} ms): "
            "tick matching needs equal steps",
        )
    if run.duration_ms != reference.duration_ms:
        raise ValidationError(
            where, "duration_ms", f"runs have different durations ({run.duration_ms:g} vs {reference.duration_ms:g} ms)"
        )
    if run.sizes() != reference.sizes():
        raise ValidationError(
            where, "populations", f"runs record different populations or sizes: {run.sizes()} vs {reference.sizes()}"
        )
    items = {label: _compare_population(label, reference, run, van_rossum_tau_ms) for label in reference.populations}
    judged = [item for label, item in items.items() if label not in inputs]
    if not judged:
        raise ValidationError(where, "populations", "no recorded population other than spike sources to compare")
    overall = _overall(judged, reference.duration_ms / 1000.0)
    failures = []
    if overall.same_tick_fraction < thresholds.min_same_tick:
        failures.append(f"same-tick match {overall.same_tick_fraction:.2%} < {thresholds.min_same_tick:.2%}")
    if overall.within_one_fraction < thresholds.min_within_one:
        failures.append(f"±1-tick match {overall.within_one_fraction:.2%} < {thresholds.min_within_one:.2%}")
    if overall.rate_error > thresholds.max_rate_error:
        failures.append(f"population rate error {overall.rate_error:.2%} > {thresholds.max_rate_error:.2%}")
    return Comparison(items, overall, thresholds, van_rossum_tau_ms, tuple(inputs), failures)


def compare_structural(run: dict, reference: dict) -> dict:
    """Where a run's structural decisions part from its reference's (two structural.json documents):
    per structural projection its events, per population with turnover its epochs, each side's count
    and the first tick where they differ (None: identical)."""
    pairs = {label: (run["events"].get(label, []), events) for label, events in reference["events"].items()}
    pairs.update(
        {
            f"turnover {label}": (run.get("turnover", {}).get(label, []), epochs)
            for label, epochs in reference.get("turnover", {}).items()
        }
    )
    result = {}
    for label, (ours, theirs) in pairs.items():
        result[label] = {
            "run": len(ours),
            "reference": len(theirs),
            "first_difference_tick": _first_difference(ours, theirs),
        }
    return result


def _first_difference(ours: list, theirs: list):
    def tick(item):
        return item["tick"] if isinstance(item, dict) else item[0]

    for a, b in zip(ours, theirs):
        if a != b:
            return min(tick(a), tick(b))
    longer = ours[len(theirs) :] or theirs[len(ours) :]
    return tick(longer[0]) if longer else None


def compare_traces(
    run: dict[str, dict[str, np.ndarray]],
    reference: dict[str, dict[str, np.ndarray]],
    run_recording: str = "end_of_tick",
    reference_recording: str = "end_of_tick",
) -> dict:
    """Every trace both runs recorded (``LABEL.variable``: v, a synaptic state), side by side: the largest
    absolute difference and whether they are bit-identical. Traces are compared only when both runs sampled
    them at the same moments (their recording conventions) and over the same ticks and neurons; not judged."""
    if run_recording != reference_recording:
        return {
            "not_compared": f"the runs sample their traces differently ({run_recording} vs {reference_recording})",
            "traces": {},
        }
    traces = {}
    for label, variables in reference.items():
        for variable, expected in variables.items():
            found = run.get(label, {}).get(variable)
            if found is None or found.shape != expected.shape:
                continue
            difference = np.abs(np.asarray(found, dtype=np.float64) - np.asarray(expected, dtype=np.float64))
            traces[f"{label}.{variable}"] = {
                "max_abs_difference": float(difference.max()) if difference.size else 0.0,
                "bit_identical": bool(np.array_equal(found, expected)),
                "samples": int(expected.size),
            }
    return {"recording": run_recording, "traces": traces}


def traces_text(comparison: dict) -> str:
    """One line: each trace bit-identical or its largest difference (or why none were compared)."""
    if "not_compared" in comparison:
        return f"not compared: {comparison['not_compared']}"
    return ", ".join(
        f"{name} " + ("bit-identical" if item["bit_identical"] else f"max |diff| {item['max_abs_difference']:.3g}")
        for name, item in comparison["traces"].items()
    )


def compare_weights(run: dict, reference: dict, units: dict | None = None) -> dict:
    """The final weights of every plastic projection both runs report (``LABEL: {pre, post, weight}``),
    synapse by synapse: the synapses each holds and both hold (matched by pre and post neuron, a pair's
    repeats in order), the largest and mean absolute difference over those (in the weights' unit,
    ``units[LABEL]``, None where unknown), whether the two are identical, and how many distinct values
    each side's weights take (a chip's weight step shows as few)."""
    result = {}
    for label, expected in reference.items():
        found = run.get(label)
        if found is None:
            continue
        ours, theirs = _matched_synapses(found, expected)
        run_weight = np.asarray(found["weight"], dtype=np.float64)
        reference_weight = np.asarray(expected["weight"], dtype=np.float64)
        difference = np.abs(run_weight[ours] - reference_weight[theirs])
        result[label] = {
            "unit": (units or {}).get(label),
            "synapses": {"run": int(run_weight.size), "reference": int(reference_weight.size), "common": len(ours)},
            "max_abs_difference": float(difference.max()) if difference.size else 0.0,
            "mean_abs_difference": float(difference.mean()) if difference.size else 0.0,
            "identical": bool(
                len(ours) == run_weight.size == reference_weight.size
                and np.array_equal(run_weight[ours], reference_weight[theirs])
            ),
            "distinct_values": {
                "run": int(np.unique(run_weight).size),
                "reference": int(np.unique(reference_weight).size),
            },
        }
    return result


def _matched_synapses(run: dict, reference: dict) -> tuple[np.ndarray, np.ndarray]:
    """Indices into each side of the synapses both hold: the same pre and post neuron, the k-th
    synapse of a pair on one side matched with the k-th on the other."""
    pairs = [np.stack([np.asarray(side["pre"]), np.asarray(side["post"])], axis=1) for side in (run, reference)]
    if pairs[0].shape == pairs[1].shape and np.array_equal(pairs[0], pairs[1]):
        every = np.arange(len(pairs[0]))
        return every, every
    seen, positions = {}, {}
    for index, pair in enumerate(map(tuple, pairs[1].tolist())):
        positions.setdefault(pair, []).append(index)
    ours, theirs = [], []
    for index, pair in enumerate(map(tuple, pairs[0].tolist())):
        repeat = seen[pair] = seen.get(pair, -1) + 1
        candidates = positions.get(pair, ())
        if repeat < len(candidates):
            ours.append(index)
            theirs.append(candidates[repeat])
    return np.asarray(ours, dtype=np.int64), np.asarray(theirs, dtype=np.int64)


def compare_functional(run: dict, reference: dict) -> dict:
    """Two runs' answers to the same operation protocol (answers.json): the operations answered
    differently, and how many each side answers as an ideal memory would."""
    pairs = zip(run["operations"], reference["operations"])
    return {
        "operations": len(reference["operations"]),
        "answers_differing_from_reference": [index for index, (a, b) in enumerate(pairs) if a["answer"] != b["answer"]],
        "run_agrees_with_ideal": run["summary"]["agree"],
        "reference_agrees_with_ideal": reference["summary"]["agree"],
    }


@dataclass(eq=False)
class RunData:
    """What comparing reads of a run, in memory (a result just computed) or read back from its folder."""

    spikes: SpikeRecord
    traces: dict = field(default_factory=dict)
    recording: str = "end_of_tick"
    weights: dict = field(default_factory=dict)
    weight_units: dict = field(default_factory=dict)
    """The unit of each plastic projection's weights (nA, uS, nA*ms): the manifest's ``weight_units``."""
    structural: dict | None = None
    answers: dict | None = None
    """The decoded answers of an operation protocol (answers.json)."""
    board: bool = False
    """Run on a board, whose structural decisions come from its own generator."""

    @classmethod
    def of(cls, spikes: SpikeRecord, manifest: dict, traces=None, weights=None, structural=None, answers=None):
        """A run's data with what its manifest says of it: when its traces were sampled (the backend's
        ``recording``), its weights' units, whether it ran on a board."""
        backend = manifest.get("backend")
        backend = backend if isinstance(backend, dict) else {}
        units = manifest.get("weight_units")
        return cls(
            spikes,
            traces or {},
            backend.get("recording", "end_of_tick"),
            weights or {},
            units if isinstance(units, dict) else {},
            structural,
            answers,
            backend.get("mode") == "board",
        )


def compare_runs(
    run: RunData,
    reference: RunData,
    thresholds: Thresholds = Thresholds(),
    inputs: tuple[str, ...] = (),
    van_rossum_tau_ms: float = 5.0,
) -> dict:
    """Every measure of how far ``run`` is from ``reference``: ``spikes`` (:func:`compare`), and those of
    :func:`measure_runs`."""
    return measure_runs(run, reference, compare(run.spikes, reference.spikes, thresholds, van_rossum_tau_ms, inputs))


def measure_runs(run: RunData, reference: RunData, spikes: Comparison) -> dict:
    """Every measure of how far ``run`` is from ``reference``, given their spikes compared: ``spikes``
    (``spikes.to_dict()``), ``traces`` (:func:`compare_traces`, where both recorded), ``weights``
    (:func:`compare_weights`, plastic projections), ``structural`` (:func:`compare_structural`, not on a board:
    it draws from its own generator), ``functional`` (:func:`compare_functional`, where both answered a
    protocol); None where a measure does not apply. ``failures``: the spike thresholds missed, structural
    decisions that part, answers that differ; ``passed`` when there are none."""
    document = {"spikes": spikes.to_dict(), "traces": None, "weights": None, "structural": None, "functional": None}
    failures = list(spikes.failures)
    if run.traces and reference.traces:
        document["traces"] = compare_traces(run.traces, reference.traces, run.recording, reference.recording)
    if run.weights and reference.weights:
        document["weights"] = compare_weights(
            run.weights, reference.weights, {**reference.weight_units, **run.weight_units}
        )
    if run.structural is not None and reference.structural is not None and not (run.board or reference.board):
        structural = document["structural"] = compare_structural(run.structural, reference.structural)
        failures += [
            f"structural decisions of {label} part from the reference at tick {item['first_difference_tick']}"
            for label, item in structural.items()
            if item["first_difference_tick"] is not None
        ]
    if run.answers is not None and reference.answers is not None:
        functional = document["functional"] = compare_functional(run.answers, reference.answers)
        differing = functional["answers_differing_from_reference"]
        if differing:
            failures.append(f"{len(differing)} operations answer differently from the reference")
    document.update(passed=not failures, failures=failures)
    return document


def weights_text(comparison: dict) -> str:
    """One line: each plastic projection's largest weight difference and distinct values per side."""
    parts = []
    for label, item in comparison.items():
        unit = f" {item['unit']}" if item["unit"] else ""
        same = "identical" if item["identical"] else f"max |diff| {item['max_abs_difference']:.3g}{unit}"
        synapses = item["synapses"]
        held = (
            ""
            if synapses["run"] == synapses["reference"] == synapses["common"]
            else (f", synapses {synapses['run']}/{synapses['reference']} ({synapses['common']} in both)")
        )
        distinct = item["distinct_values"]
        parts.append(f"{label} {same}, distinct values {distinct['run']}/{distinct['reference']}{held}")
    return "; ".join(parts)


def measure_lines(measures: dict, prefix: str = "") -> list[str]:
    """A line per measure of :func:`measure_runs` beyond spikes that applies, for people."""
    lines = []
    if measures["traces"]:
        lines.append(f"{prefix}traces: {traces_text(measures['traces'])}")
    if measures["weights"]:
        lines.append(f"{prefix}final weights: {weights_text(measures['weights'])}")
    structural = measures["structural"]
    if structural:
        parted = {
            label: entry["first_difference_tick"]
            for label, entry in structural.items()
            if entry["first_difference_tick"] is not None
        }
        same = ", ".join(f"{label} {entry['run']}" for label, entry in structural.items())
        lines.append(
            f"{prefix}structural decisions: "
            + (
                f"as on the reference ({same})"
                if not parted
                else "; ".join(f"{label} parts from the reference at tick {tick}" for label, tick in parted.items())
            )
        )
    functional = measures["functional"]
    if functional:
        lines.append(
            f"{prefix}answers: {functional['operations'] - len(functional['answers_differing_from_reference'])}/"
            f"{functional['operations']} operations answer as on the reference; {functional['run_agrees_with_ideal']} "
            "agree with an ideal memory"
        )
    return lines
