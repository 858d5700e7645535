"""Spike records, atomic run directories and the comparison metrics."""

import json

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from neurodeploy.compilation import Thresholds
from neurodeploy.errors import ValidationError
from neurodeploy.results import RunResult, SpikeRecord, sorted_pairs
from neurodeploy.runs import rundir
from neurodeploy.runs.compare import compare, matched_within
from neurodeploy.runs.rundir import read_run, write_run


def record(trains_by_population, backend="test", duration=100.0, dt=1.0):
    return SpikeRecord(
        dt,
        duration,
        backend,
        {label: [np.asarray(t, dtype=float) for t in trains] for label, trains in trains_by_population.items()},
    )


def shifted(spikes: SpikeRecord, ticks: int) -> SpikeRecord:
    return SpikeRecord(
        spikes.dt_ms,
        spikes.duration_ms,
        spikes.backend,
        {label: [t + ticks * spikes.dt_ms for t in trains] for label, trains in spikes.populations.items()},
    )


def test_spikes_json_has_the_exact_published_form(tmp_path):
    spikes = SpikeRecord.from_ticks(1.0, 90.0, "brian2", {"OUT": (3, np.array([2, 0, 2]), np.array([7.0, 5.0, 9.0]))})
    write_run(tmp_path / "run", {"model": {"name": "m"}}, RunResult(spikes))
    data = json.loads((tmp_path / "run" / "spikes.json").read_text())
    assert data == {
        "dt_ms": 1.0,
        "duration_ms": 90.0,
        "backend": "brian2",
        "populations": {"OUT": {"size": 3, "spike_times_ms": [[5.0], [], [7.0, 9.0]]}},
    }
    assert read_run(tmp_path / "run").spikes.to_dict() == data


def test_spikes_from_ticks_in_any_order_are_each_neurons_times_in_order():
    rng = np.random.default_rng(8)
    neurons, ticks = rng.integers(0, 40, 500), rng.integers(3, 60, 500)
    record = SpikeRecord.from_ticks(0.5, 30.0, "spinnaker", {"P": (45, neurons, ticks)})
    pairs = list(zip(neurons.tolist(), ticks.tolist()))
    expected = [sorted(0.5 * t for n, t in pairs if n == neuron) for neuron in range(45)]
    assert [times.tolist() for times in record.populations["P"]] == expected


PAIR_RANGES = {
    "32-bit keys": ((0, 3000), (0, 3000)),
    "values beyond int32": ((-5, 5), (2**31, 2**31 + 5)),
    "any int64 keys, or too wide for them": ((-(2**62), 2**62), (-(2**62), 2**62)),
}
"""Ranges of (major, minor) pairs, by the width of the keys they are sorted with."""


@given(
    st.sampled_from(list(PAIR_RANGES)).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.lists(st.tuples(*(st.integers(*bounds) for bounds in PAIR_RANGES[kind])), max_size=40),
        )
    )
)
@example(("values beyond int32", [(0, 0), (0, 2**31 - 1)]))  # a span of 2^31: one more than 32-bit keys hold
@example(("values beyond int32", [(5, -(2**31)), (5, -1)]))
@example(("values beyond int32", [(0, 2**63 - 1), (0, 0)]))  # a span of 2^63: one more than 64-bit keys hold
def test_sorted_pairs_are_the_lexicographic_sort(kind_and_pairs):
    kind, pairs = kind_and_pairs
    major = np.array([a for a, _ in pairs], dtype=np.int64)
    minor = np.array([b for _, b in pairs], dtype=np.int64)
    order = np.lexsort((minor, major))
    sorted_major, sorted_minor = sorted_pairs(major, minor)
    assert sorted_major.tolist() == major[order].tolist() and sorted_minor.tolist() == minor[order].tolist()
    assert sorted_major.dtype == sorted_minor.dtype
    if not pairs or kind == "values beyond int32":
        assert sorted_major.dtype == np.int64
    elif kind == "32-bit keys":
        assert sorted_major.dtype == np.int32


def test_to_neo_gives_one_annotated_spiketrain_per_neuron():
    block = record({"A": [[1.0, 3.0], []], "B": [[2.0]]}).to_neo()
    trains = block.segments[0].spiketrains
    assert [(t.annotations["population"], t.annotations["neuron"]) for t in trains] == [("A", 0), ("A", 1), ("B", 0)]
    assert trains[0].magnitude.tolist() == [1.0, 3.0] and str(trains[0].units.dimensionality) == "ms"
    assert float(trains[0].t_stop) == 100.0


def test_run_directory_is_never_half_written(tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = RunResult(record({"A": [[1.0]]}))
    write_run(out, {"model": {"name": "first"}}, first)

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(rundir.np, "savez_compressed", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        write_run(
            out, {"model": {"name": "second"}}, RunResult(record({"A": [[2.0]]}), traces={"A": {"v": np.zeros((1, 1))}})
        )
    assert json.loads((out / "manifest.json").read_text())["model"]["name"] == "first"
    assert read_run(out).spikes.populations["A"][0].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    with pytest.raises(OSError):
        write_run(tmp_path / "fresh", {}, RunResult(record({"A": [[2.0]]}), traces={"A": {"v": np.zeros((1, 1))}}))
    assert not (tmp_path / "fresh").exists()


def test_write_run_refuses_to_replace_a_foreign_directory(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "thesis.tex").write_text("precious")
    with pytest.raises(ValidationError, match="is a folder neurodeploy did not write"):
        write_run(tmp_path / "data", {}, RunResult(record({"A": [[1.0]]})))
    assert (tmp_path / "data" / "thesis.tex").read_text() == "precious"


def test_compare_with_itself_is_perfect():
    spikes = record({"A": [[1, 5, 9], [2, 30]], "B": [[], [50]]})
    comparison = compare(spikes, spikes)
    assert comparison.passed
    overall = comparison.overall
    assert overall.same_tick_fraction == 1.0 and overall.within_one_fraction == 1.0
    assert overall.van_rossum == 0.0 and overall.max_abs_count_difference == 0
    assert overall.reference_rate_hz == pytest.approx(6 / (4 * 0.1))


def test_compare_shifted_by_one_tick():
    reference = record({"A": [[1, 5, 9], [2, 30]], "B": [[], [50]]})
    comparison = compare(shifted(reference, 1), reference)
    assert comparison.overall.same_tick == 0 and comparison.overall.same_tick_fraction == 0.0
    assert comparison.overall.within_one_fraction == 1.0
    assert comparison.overall.max_abs_count_difference == 0 and comparison.overall.rate_error == 0.0
    assert comparison.overall.van_rossum > 0
    assert not comparison.passed and "same-tick match 0.00%" in comparison.failures[0]


def test_within_one_is_a_maximum_one_to_one_matching():
    # Exact-first matching would pair 2-2 and leave 1 and 3 apart; the best pairing is 1-2, 2-3.
    assert matched_within(np.array([1, 2]), np.array([2, 3]), 1) == 2
    assert matched_within(np.array([1, 2]), np.array([2, 3]), 0) == 1
    assert matched_within(np.array([5]), np.array([4, 5, 6]), 1) == 1
    assert matched_within(np.array([]), np.array([4]), 1) == 0


def test_counts_rates_and_thresholds():
    reference = record({"A": [[10, 20, 30, 40], [15]]})
    run = record({"A": [[10, 20, 30], [15, 60]]})
    comparison = compare(run, reference, Thresholds(0.5, 0.5, 0.01))
    item = comparison.populations["A"]
    assert (item.same_tick, item.within_one) == (4, 4)
    assert item.mean_abs_count_difference == 1.0 and item.max_abs_count_difference == 1
    assert item.rate_error == 0.0 and comparison.passed
    silent = compare(record({"A": [[], []]}), reference)
    assert silent.overall.same_tick_fraction == 0.0 and silent.overall.rate_error == 1.0


def test_inputs_are_shown_but_not_judged():
    reference = record({"IN": [[1, 2, 3]], "OUT": [[5]]})
    run = record({"IN": [[1, 2, 3]], "OUT": [[6]]})
    comparison = compare(run, reference, inputs=("IN",))
    assert comparison.overall.reference_spikes == 1 and comparison.overall.same_tick == 0
    assert "IN" in comparison.populations and not comparison.passed


def test_compare_rejects_runs_that_cannot_be_compared():
    a = record({"A": [[1]]})
    with pytest.raises(ValueError, match="different time steps"):
        compare(a, record({"A": [[1]]}, dt=0.1))
    with pytest.raises(ValueError, match="different populations or sizes"):
        compare(a, record({"A": [[1], []]}))
