"""Progress by stages: what each backend announces, the time each stage takes in the manifest, the progress
line's estimate of the time left, and the Lava worker's reports read as stages."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import launcher
from neurodeploy.backends.lava.exchange import write_progress
from neurodeploy.catalog import load_model
from neurodeploy.cli import STAGE_HINTS, ProgressLine, main
from neurodeploy.results import STAGES, StageTimes


class Heard:
    """A progress that keeps what it hears, in order: ("stage", name) and ("fraction", f)."""

    def __init__(self):
        self.events = []

    def enter_stage(self, stage):
        self.events.append(("stage", stage))

    def __call__(self, fraction):
        self.events.append(("fraction", fraction))


@pytest.mark.parametrize(
    "backend, announced",
    [("brian2", ["build", "codegen", "simulate", "read_back"]), ("spinnaker", ["build", "simulate", "read_back"])],
)
def test_a_backend_announces_its_stages_with_fractions_only_while_it_simulates(backend, announced):
    network = load_model("feedforward-poisson", {"n_neurons": 5, "n_inputs": 5, "duration_ms": 200.0}).network
    heard = Heard()
    make_backend(backend).run(network, 200.0, progress=heard)
    stages = [(index, name) for index, (kind, name) in enumerate(heard.events) if kind == "stage"]
    assert [name for _, name in stages] == announced
    (simulate, _), (read_back, _) = stages[-2:]
    fractions = [value for kind, value in heard.events if kind == "fraction"]
    assert all(kind == "fraction" for kind, _ in heard.events[simulate + 1 : read_back])
    assert len(fractions) == read_back - simulate - 1 and fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_plain_callable_still_hears_fractions():
    network = load_model("feedforward-poisson", {"n_neurons": 2, "n_inputs": 2, "duration_ms": 50.0}).network
    fractions = []
    make_backend("spinnaker").run(network, 50.0, progress=fractions.append)
    assert fractions[-1] == 1.0


def test_stage_times_add_up_per_stage_and_ignore_a_stage_entered_twice():
    now = [0.0]
    times = StageTimes(clock=lambda: now[0])
    for stage, at in [("build", 1.0), ("build", 2.0), ("simulate", 4.0), ("read_back", 9.0), ("build", 9.5)]:
        now[0] = at
        times.enter_stage(stage)
    now[0] = 10.0
    times.close()
    assert times.seconds == {"build": 3.0 + 0.5, "simulate": 5.0, "read_back": 0.5}


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_run_records_the_wall_time_of_every_stage_and_prints_both_times(tmp_path, backend):
    """Brian2's preparation of its first step (its code generated, compiled or loaded) is a stage of its own; a
    backend without one records null for it and prints nothing of it."""
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["run", "feedforward-poisson", "--param", "n_neurons=3", "--duration", "100", "--backend", backend]
        + ["--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["stages"]) == list(STAGES)
    timed = {stage: seconds for stage, seconds in manifest["stages"].items() if seconds is not None}
    assert set(timed) == set(STAGES) - ({"codegen"} if backend == "spinnaker" else set())
    assert all(seconds >= 0 for seconds in timed.values())
    assert manifest["wall_time_s"] == manifest["stages"]["simulate"]
    total = sum(timed.values())
    assert f"simulated in {manifest['wall_time_s']:.2f} s ({total:.2f} s in all: load " in result.output
    assert "build" in result.output and "read-back" in result.output and "write" in result.output
    assert ("codegen" in result.output) == (backend == "brian2")


def test_the_progress_line_names_the_stage_and_estimates_the_time_left_at_the_pace_so_far():
    now = [100.0]
    line = ProgressLine("brian2 running m", after_s=0.0, clock=lambda: now[0], ticker=False)
    now[0] = 101.0
    line.enter_stage("build")
    now[0] = 104.0
    assert line.text(now[0]) == "brian2 running m: building for 3.0 s, after   4.0 s"
    line.enter_stage("codegen")
    now[0] = 105.0
    assert line.text(now[0]) == "brian2 running m: generating Brian2's code for 1.0 s, after   5.0 s"
    line.enter_stage("simulate")
    now[0] = 107.0
    line(0.25)  # a quarter in 2 s: three quarters left take 6 s
    assert line.time_left(now[0]) == 6.0
    assert line.text(now[0]).endswith("simulating,  25.0% of simulated time after   7.0 s, about 6 s left")
    line(1.0)
    line.enter_stage("read_back")
    now[0] = 117.0
    assert line.time_left(now[0]) is None
    assert line.text(now[0]) == "brian2 running m: reading back for 10.0 s, after  17.0 s"
    line.close()


class FakeWorker:
    """A Lava worker that writes one progress report per poll, then ends."""

    def __init__(self, folder, reports):
        self.folder, self.reports, self.returncode = folder, list(reports), None

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        if self.reports:
            write_progress(self.folder, self.reports.pop(0))
        else:
            self.returncode = 0
        return self.returncode


def test_the_lava_workers_reports_are_its_stages_build_until_the_first_and_read_back_after_the_last(tmp_path):
    heard = Heard()
    worker = FakeWorker(tmp_path, [0.5, 0.5, 1.0, 1.0])
    assert launcher._watch(worker, tmp_path, lambda: None, None, heard) is False
    assert heard.events == [
        ("stage", "simulate"),
        ("fraction", 0.5),
        ("fraction", 1.0),
        ("stage", "read_back"),
    ]


def test_a_lava_worker_that_ends_before_reporting_is_read_back_all_the_same(tmp_path):
    heard = Heard()
    assert launcher._watch(FakeWorker(tmp_path, []), tmp_path, lambda: None, None, heard) is False
    assert heard.events == [("stage", "read_back")]


def test_a_stage_without_fractions_is_shown_once_it_has_lasted_the_delay_so_an_early_refusal_stays_one_line(capsys):
    now = [100.0]
    line = ProgressLine("brian2 running m", after_s=2.0, every_s=2.0, clock=lambda: now[0], ticker=False)
    now[0] = 100.5
    line.enter_stage("build")
    now[0] = 102.1  # the command has run 2.1 s, its build 1.6 s
    line.refresh()
    assert capsys.readouterr().err == ""
    now[0] = 102.6
    line.refresh()
    assert capsys.readouterr().err == "brian2 running m: building for 2.1 s, after   2.6 s\n"
    now[0] = 103.0
    line.enter_stage("simulate")
    line(0.5)  # fractions are shown as they come, every every_s
    assert capsys.readouterr().err == ""
    now[0] = 104.7
    line(0.75)
    assert "simulating,  75.0% of simulated time after   4.7 s, about 1 s left" in capsys.readouterr().err
    line.close()


def test_a_backend_that_tells_no_stages_still_shows_its_fractions(capsys):
    now = [0.0]
    line = ProgressLine("x running m", after_s=2.0, clock=lambda: now[0], ticker=False)
    now[0] = 3.0
    line(0.1)
    now[0] = 5.0
    line(0.6)  # half of it in the 2 s since the first report: the 40% left take 1.6 s at that pace
    assert capsys.readouterr().err.splitlines() == [
        "x running m: simulating,  10.0% of simulated time after   3.0 s",
        "x running m: simulating,  60.0% of simulated time after   5.0 s, about 2 s left",
    ]
    line.close()


def test_on_a_terminal_the_line_is_redrawn_in_place_and_cleared_past_its_text(capsys, monkeypatch):
    """A shorter line drawn over a longer one leaves none of it behind: erased to the line's end, then back."""
    now = [100.0]
    line = ProgressLine("m", after_s=0.0, every_s=1.0, clock=lambda: now[0], ticker=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    line.enter_stage("codegen")
    now[0] = 101.0
    line.refresh()
    line.enter_stage("read_back")
    now[0] = 103.0
    line.refresh()
    assert capsys.readouterr().err == (
        "m: generating Brian2's code for 1.0 s, after   1.0 s\x1b[K\rm: reading back for 2.0 s, after   3.0 s\x1b[K\r"
    )


def test_a_long_codegen_stage_says_once_why_and_how_to_skip_the_compile(capsys, monkeypatch):
    """On a terminal the line drawn so far is ended first, so the hint stands on a line of its own."""
    now = [100.0]
    line = ProgressLine("m", after_s=2.0, every_s=2.0, clock=lambda: now[0], ticker=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    line.enter_stage("codegen")
    shown = []
    for now[0] in (103.0, 111.0, 113.0):
        line.refresh()
        shown.append(capsys.readouterr().err)
    hint = STAGE_HINTS["codegen"][1]
    assert "codegen=numpy" in hint and "first run on Cython" in hint
    assert shown == [
        "m: generating Brian2's code for 3.0 s, after   3.0 s\x1b[K\r",
        f"\nm: {hint}\nm: generating Brian2's code for 11.0 s, after  11.0 s\x1b[K\r",
        "m: generating Brian2's code for 13.0 s, after  13.0 s\x1b[K\r",
    ]


def test_the_progress_line_goes_on_while_brian2_points_stderr_at_a_file_of_its_own(tmp_path):
    """Brian2 compiles with descriptor 2 pointed at a file (its ``std_silent``): a command's progress line is
    written on a duplicate of the descriptor taken before, so it still reaches the terminal (a process of its
    own: stderr on descriptor 2, as a command has it)."""
    script = """
import os, sys
from neurodeploy import cli

def call(progress):
    progress.after_s = 0.0
    progress.enter_stage("codegen")
    os.dup2(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT), 2)
    progress.refresh(force=True)
    return "run written"

print(cli._progress("m", call))
"""
    swallowed = tmp_path / "brian2 stderr"
    finished = subprocess.run(
        [sys.executable, "-c", script, str(swallowed)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert finished.stdout == "run written\n"
    assert finished.stderr.startswith("m: generating Brian2's code for 0.")
    assert swallowed.read_text() == ""


class BrokenPipe:
    """A stream whose reader has gone."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self):
        return False


def test_a_progress_line_that_cannot_be_written_stops_and_the_run_goes_on():
    now = [100.0]
    line = ProgressLine("m", after_s=0.0, every_s=1.0, clock=lambda: now[0], ticker=False, stream=BrokenPipe())
    line.enter_stage("build")
    for now[0] in (101.0, 103.0):
        line.refresh()
    line.stage("comparing")
    line.close()
