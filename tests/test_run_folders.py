"""Run folders: never a file lost, never a run seen half-written, one writer at a time."""

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from neurodeploy import pipeline
from neurodeploy.cli import main
from neurodeploy.errors import ValidationError
from neurodeploy.results import RunResult, SpikeRecord
from neurodeploy.runs import rundir
from neurodeploy.runs.rundir import (
    MARKER,
    STORE,
    read_run,
    staged_directory,
    write_document,
    write_run,
    write_run_files,
)

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def network_file(tmp_path, small_network):
    return nd.save(small_network, tmp_path / "small.json")


def result(name: str) -> RunResult:
    """A run whose spikes name it (as their backend), so a reader can tell which run a file belongs to."""
    return RunResult(SpikeRecord(1.0, 10.0, name, {"A": [np.array([1.0, 2.0])]}))


def deploy_like(out: Path, name: str) -> None:
    """An output with a run in a folder (``target/``), as ``deploy`` writes."""
    with staged_directory(out, "deploy") as staging:
        write_run_files(staging / "target", {"model": {"name": name}}, result(name))


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes (links followed), as a user would see them."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def left_behind(out: Path) -> list[str]:
    """Version folders besides the current one: once a run is published, at most the run before it (kept
    for readers that were resolving its links), plus a run cut short until the next run removes it."""
    current = os.readlink(out / STORE / "current")
    return sorted(entry for entry in os.listdir(out / STORE) if entry not in ("lock", "current", current))


def assert_one_line_refusal(outcome, *fragments):
    assert outcome.exit_code == 2, outcome.output
    assert outcome.output.count("\n") == 1 and "Traceback" not in outcome.output
    for fragment in fragments:
        assert fragment in outcome.output


def test_a_folder_neurodeploy_did_not_write_is_refused_and_left_as_it_was(tmp_path, network_file):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("code\n")
    before = snapshot(project)
    assert_one_line_refusal(invoke("run", network_file, "--out", project), "did not write", "src")
    assert snapshot(project) == before and os.listdir(project) == ["src"]


@pytest.mark.parametrize("output", ["manifest.json", "compile.json", "deploy.json"])
def test_a_folder_written_by_an_older_neurodeploy_is_refused_saying_so(tmp_path, network_file, output):
    project = tmp_path / "proj"
    project.mkdir()
    (project / output).write_text("{}\n")
    (project / "spikes.json").write_text("{}\n")
    before = snapshot(project)
    assert_one_line_refusal(
        invoke("run", network_file, "--out", project),
        f"'{project}' holds a {output} but no .neurodeploy store: written by hand or by an older "
        "neurodeploy; move it away or give a new folder",
    )
    assert snapshot(project) == before and sorted(os.listdir(project)) == sorted([output, "spikes.json"])


def test_files_a_user_adds_survive_reruns(tmp_path, network_file):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out, "--seed", 1).exit_code == 0
    (out / "notes.md").write_text("what I saw\n")
    (out / "plots").mkdir()
    (out / "plots" / "raster.png").write_bytes(b"\x89PNG")
    assert invoke("run", network_file, "--out", out, "--seed", 2).exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert (out / "notes.md").read_text() == "what I saw\n"
    assert (out / "plots" / "raster.png").read_bytes() == b"\x89PNG"
    assert len(left_behind(out)) <= 1 and not (out / "plots").is_symlink()


def test_files_a_user_adds_inside_a_folder_neurodeploy_wrote_survive(tmp_path):
    out = tmp_path / "deployed"
    deploy_like(out, "first")
    (out / "target" / "mine.txt").write_text("mine\n")
    (out / "target" / "figures").mkdir()
    (out / "target" / "figures" / "a.svg").write_text("<svg/>")
    deploy_like(out, "second")
    assert read_run(out / "target").spikes.backend == "second"
    assert (out / "target" / "mine.txt").read_text() == "mine\n"
    assert (out / "target" / "figures" / "a.svg").read_text() == "<svg/>"
    # A run that would write where the user put a file is refused; the user's file and the old run stay.
    with pytest.raises(ValidationError, match="mine.txt' was added by a user"):
        with staged_directory(out, "deploy") as staging:
            write_run_files(staging / "target", {"model": {"name": "third"}}, result("third"))
            (staging / "target" / "mine.txt").write_text("ours\n")
    assert (out / "target" / "mine.txt").read_text() == "mine\n" and read_run(out / "target").spikes.backend == "second"
    assert len(left_behind(out)) <= 1


def test_a_file_written_into_the_replaced_version_survives_the_next_rerun(tmp_path):
    """A shell whose working folder was ``OUT/target`` before a rerun still writes into the version the rerun
    replaced: the next rerun must carry those files over, not delete them with that version."""
    out = tmp_path / "deployed"
    deploy_like(out, "first")
    stale_working_folder = Path(os.path.realpath(out / "target"))
    deploy_like(out, "second")
    (stale_working_folder / "notes.md").write_text("written after the rerun\n")
    (stale_working_folder / "figures").mkdir()
    (stale_working_folder / "figures" / "a.svg").write_text("<svg/>")
    for name in ("third", "fourth"):
        deploy_like(out, name)
        assert read_run(out / "target").spikes.backend == name
        assert (out / "target" / "notes.md").read_text() == "written after the rerun\n"
        assert (out / "target" / "figures" / "a.svg").read_text() == "<svg/>"
        assert len(left_behind(out)) <= 1


def test_a_file_written_while_a_rerun_publishes_survives(tmp_path, monkeypatch):
    out = tmp_path / "deployed"
    deploy_like(out, "first")
    shown = Path(os.path.realpath(out / "target"))
    carry_over = rundir._carry_over

    def then_a_user_writes(*args):
        carried = carry_over(*args)
        (shown / "late.txt").write_text("late\n")  # after the carry-over, before the swap
        return carried

    monkeypatch.setattr(rundir, "_carry_over", then_a_user_writes)
    deploy_like(out, "second")
    monkeypatch.undo()
    deploy_like(out, "third")
    assert (out / "target" / "late.txt").read_text() == "late\n"


def test_a_users_later_changes_to_carried_files_hold_and_nothing_piles_up(tmp_path):
    out = tmp_path / "deployed"
    deploy_like(out, "first")
    (out / "target" / "old.txt").write_text("old\n")
    (out / "target" / "notes.md").write_text("draft\n")
    deploy_like(out, "second")
    (out / "target" / "old.txt").unlink()
    saved = out / "target" / ".notes.md.swp"  # an editor saves by writing a new file and renaming it
    saved.write_text("final\n")
    os.replace(saved, out / "target" / "notes.md")
    for name in ("third", "fourth"):
        deploy_like(out, name)
        assert not os.path.lexists(out / "target" / "old.txt")
        assert (out / "target" / "notes.md").read_text() == "final\n"
        assert len(left_behind(out)) <= 1


def test_a_replaced_version_is_kept_when_its_users_file_cannot_be_carried_over(tmp_path):
    out = tmp_path / "deployed"
    deploy_like(out, "first")
    stale_working_folder = Path(os.path.realpath(out / "target"))
    deploy_like(out, "second")
    (stale_working_folder / "notes.md").write_text("from the old shell\n")
    (out / "target" / "notes.md").write_text("from the new shell\n")
    deploy_like(out, "third")
    assert (out / "target" / "notes.md").read_text() == "from the new shell\n"
    assert (stale_working_folder / "notes.md").read_text() == "from the old shell\n"


def test_an_entry_of_the_user_where_a_run_writes_is_refused_not_replaced(tmp_path):
    out = tmp_path / "run"
    write_run(out, {"model": {"name": "first"}}, result("first"))
    (out / "spikes.json").unlink()
    (out / "spikes.json").write_text("my own spikes\n")
    with pytest.raises(ValidationError, match="spikes.json' was not written by neurodeploy"):
        write_run(out, {"model": {"name": "second"}}, result("second"))
    assert (out / "spikes.json").read_text() == "my own spikes\n"
    assert json.loads((out / "manifest.json").read_text())["model"]["name"] == "first"


def test_a_users_entry_named_like_an_output_is_refused_before_the_simulation_runs(tmp_path, network_file, monkeypatch):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out, "--seed", 1).exit_code == 0
    (out / "spikes.json").unlink()
    (out / "spikes.json").write_text("my own spikes\n")

    def simulation(*args, **kwargs):
        raise AssertionError("the simulation ran before the folder was checked")

    monkeypatch.setattr(pipeline, "run_model", simulation)
    assert_one_line_refusal(
        invoke("run", network_file, "--out", out, "--seed", 2), "spikes.json' was not written by neurodeploy"
    )
    assert (out / "spikes.json").read_text() == "my own spikes\n" and read_run(out).manifest["seed"] == 1


def test_a_users_deploy_json_is_refused_before_anything_is_compiled(tmp_path, monkeypatch):
    from neurodeploy.backends.spinnaker import toolchain

    out = tmp_path / "deployed"
    with staged_directory(out, "deploy") as staging:
        (staging / "compile").mkdir()
        (staging / "deploy.json").write_text("{}\n")
    (out / "deploy.json").unlink()
    (out / "deploy.json").write_text("my verdict\n")

    def compiler(*args, **kwargs):
        raise AssertionError("compiled before the folder was checked")

    monkeypatch.setattr(toolchain, "compile_network", compiler)
    assert_one_line_refusal(
        invoke(
            "deploy",
            "feedforward-poisson",
            "--param",
            "n_neurons=2",
            "--duration",
            "20",
            "--target",
            "spinn5",
            "--out",
            out,
        ),
        "deploy.json' was not written by neurodeploy",
    )
    assert (out / "deploy.json").read_text() == "my verdict\n"


def test_out_dot_writes_into_an_empty_working_folder_and_refuses_a_full_one(tmp_path, network_file, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert invoke("run", network_file, "--out", ".", "--seed", 1).exit_code == 0
    assert invoke("run", network_file, "--out", ".", "--seed", 2).exit_code == 0
    assert read_run(empty).manifest["seed"] == 2 and sorted(os.listdir(tmp_path)) == ["empty", "small.json"]
    assert len(left_behind(empty)) <= 1
    full = tmp_path / "full"
    full.mkdir()
    (full / "thesis.tex").write_text("precious")
    monkeypatch.chdir(full)
    assert_one_line_refusal(invoke("run", network_file, "--out", "."), "'.' is a folder neurodeploy did not write")
    assert os.listdir(full) == ["thesis.tex"]


def test_a_symlinked_out_is_followed_never_replaced(tmp_path, network_file):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to("real")
    for seed in (1, 2):
        assert invoke("run", network_file, "--out", link, "--seed", seed).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == "real"
    assert read_run(real).manifest["seed"] == 2 and (real / STORE).is_dir()
    dangling = tmp_path / "dangling"
    dangling.symlink_to("nowhere")
    assert_one_line_refusal(invoke("run", network_file, "--out", dangling), "which does not exist")
    assert os.readlink(dangling) == "nowhere" and not (tmp_path / "nowhere").exists()
    foreign = tmp_path / "foreign"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("1,2\n")
    foreign.symlink_to("data")
    assert_one_line_refusal(invoke("run", network_file, "--out", foreign), "did not write")
    assert os.listdir(tmp_path / "data") == ["table.csv"]


def test_relative_out_can_be_moved_and_copied_whole(tmp_path, network_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("run", network_file, "--out", "a/b/run").exit_code == 0
    os.rename("a/b/run", "moved")
    subprocess.run(["cp", "-r", "moved", "copied"], check=True)
    assert invoke("run", network_file, "--out", "moved", "--seed", 9).exit_code == 0
    assert read_run(Path("moved")).manifest["seed"] == 9 and read_run(Path("copied")).manifest["seed"] == 3
    assert sorted(os.listdir("a/b")) == []


@pytest.mark.slow
def test_the_paths_a_deploy_records_resolve_after_the_folder_is_moved(tmp_path):
    out = tmp_path / "deployed"
    outcome = invoke(
        "deploy",
        "feedforward-poisson",
        "--param",
        "n_neurons=2",
        "--param",
        "n_inputs=5",
        "--duration",
        "20",
        "--target",
        "spinn5",
        "--out",
        out,
    )
    assert outcome.exit_code == 0, outcome.output
    moved = tmp_path / "moved"
    os.rename(out, moved)
    reports = json.loads((moved / "deploy.json").read_text())["per_target"]["spinn5"]["mapping"]["spynnaker_reports"]
    assert not os.path.isabs(reports) and (moved / reports).is_dir()
    compiled_folder = moved / "spinn5" / "compile"
    compiled = json.loads((compiled_folder / "compile.json").read_text())["mapping"]["spynnaker_reports"]
    assert (compiled_folder / compiled).resolve() == (moved / reports).resolve()


def test_the_output_of_another_command_is_refused(tmp_path, network_file):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out).exit_code == 0
    before = snapshot(out)
    assert_one_line_refusal(
        invoke("compile", network_file, "--target", "spinn5", "--no-map", "--out", out),
        "holds the output of `neurodeploy run`, not of `compile`",
    )
    assert snapshot(out) == before


def test_a_second_writer_is_refused_with_one_line_while_the_first_holds_the_folder(tmp_path, network_file):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out, "--seed", 1).exit_code == 0
    with staged_directory(out, "run") as staging:
        assert_one_line_refusal(
            invoke("run", network_file, "--out", out, "--seed", 2),
            f"is being written by another neurodeploy (pid {os.getpid()})",
        )
        assert read_run(out).manifest["seed"] == 1
        write_run_files(staging, {"model": {"name": "holder"}, "seed": 7}, result("holder"))
    assert read_run(out).manifest["seed"] == 7
    assert invoke("run", network_file, "--out", out, "--seed", 2).exit_code == 0
    assert read_run(out).manifest["seed"] == 2 and len(left_behind(out)) <= 1


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask 022", "umask 077"])
def test_what_a_command_writes_gets_the_permissions_the_users_umask_gives(tmp_path, network_file, umask):
    """As a plain open() and mkdir() would make them: readable by colleagues under umask 022, private under 077."""

    def cli(*args):
        finished = subprocess.run(
            [sys.executable, "-m", "neurodeploy", *map(str, args)],
            cwd=tmp_path,
            umask=umask,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
        )
        assert finished.returncode == 0, finished.stderr

    run = tmp_path / "run"
    cli("run", network_file, "--out", run)  # the marker is written atomically, as compile.json and deploy.json are
    cli("compare", run, run)  # compare.json joins the published version through the store
    modes = {
        path.relative_to(tmp_path).as_posix(): oct(stat.S_IMODE(path.lstat().st_mode))
        for path in (run, *run.rglob("*"))
        if not path.is_symlink()
    }
    written = {os.path.basename(name) for name in modes}
    assert {MARKER, "manifest.json", "spikes.json", "traces.npz", "compare.json", STORE, "lock"} <= written
    assert modes == {name: oct(0o777 & ~umask if (tmp_path / name).is_dir() else 0o666 & ~umask) for name in modes}


def test_two_simultaneous_runs_end_serialized_or_with_one_clean_refusal(tmp_path, network_file):
    out = tmp_path / "run"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "neurodeploy", "run", str(network_file), "--out", str(out), "--seed", str(seed)],
            cwd=tmp_path,
            env=environment,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in (1, 2)
    ]
    outcomes = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    for run in runs:
        run.stdout.close()
        run.stderr.close()
    assert sorted(code for code, _ in outcomes) in ([0, 0], [0, 2]), outcomes
    assert all("Traceback" not in stderr for _, stderr in outcomes)
    for code, stderr in outcomes:
        if code == 2:
            assert stderr.strip().count("\n") == 0 and "is being written by another neurodeploy" in stderr
    winners = {seed for seed, (code, _) in zip((1, 2), outcomes) if code == 0}
    assert read_run(out).manifest["seed"] in winners and len(left_behind(out)) <= 1


READER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from neurodeploy.runs.rundir import read_run
    out, ready, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    reads, seen, problems = 0, set(), []
    ready.touch()
    while not stop.exists():
        reads += 1
        try:
            seen.add(json.loads((out / "manifest.json").read_text())["model"]["name"])
            if reads % 20 == 0:  # the whole run, less often: its spikes are large
                run = read_run(out)
                if run.manifest["model"]["name"] != run.spikes.backend:
                    problems.append(f"manifest of {run.manifest['model']['name']} with spikes of {run.spikes.backend}")
        except Exception as error:
            problems.append(repr(error))
    print(json.dumps({"reads": reads, "seen": sorted(seen), "problems": problems[:5], "count": len(problems)}))
""")


def test_a_reader_polling_during_reruns_always_finds_one_complete_run(tmp_path):
    out = tmp_path / "run"
    write_run(out, {"model": {"name": "run-0"}}, result("run-0"))
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(out), str(ready), str(stop)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready.exists() and reader.poll() is None:
            time.sleep(0.05)
        for index in range(1, 301):  # many small reruns: the old two-rename swap failed this reader hundreds of times
            spikes = np.arange(2000.0 if index % 10 == 0 else 2.0)
            write_run(
                out,
                {"model": {"name": f"run-{index}"}},
                RunResult(SpikeRecord(1.0, 2000.0, f"run-{index}", {"A": [spikes]})),
            )
    finally:
        stop.touch()
    report = json.loads(reader.communicate(timeout=60)[0])
    assert report["count"] == 0, report["problems"]
    assert report["reads"] > 200 and len(report["seen"]) > 10  # it did read while runs were published


def test_compare_json_is_recorded_as_written_by_neurodeploy(tmp_path, network_file):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out).exit_code == 0
    assert invoke("compare", out, out).exit_code == 0
    marker = json.loads((out / STORE / "current" / MARKER).read_text())
    assert "compare.json" in marker["files"] and json.loads((out / "compare.json").read_text())["passed"]
    (out / "notes.md").write_text("mine\n")
    assert invoke("run", network_file, "--out", out, "--seed", 4).exit_code == 0
    assert not os.path.lexists(out / "compare.json"), "a comparison of the previous run must go with it"
    assert (out / "notes.md").read_text() == "mine\n"


def test_compare_into_a_folder_inside_a_run_updates_that_runs_marker(tmp_path):
    out = tmp_path / "deployed"
    with staged_directory(out, "deploy") as staging:
        write_run_files(staging / "target", {"model": {"name": "m"}}, result("target"))
    path = write_document(read_run(out / "target"), "compare.json", {"passed": True})
    assert path == out / "target" / "compare.json" and json.loads(path.read_text()) == {"passed": True}
    assert "target/compare.json" in json.loads((out / STORE / "current" / MARKER).read_text())["files"]
    assert sorted(os.listdir(out)) == [STORE, "target"]


def test_compare_of_a_folder_without_marker_replaces_only_its_own_compare_json(tmp_path, network_file):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out).exit_code == 0
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("manifest.json", "spikes.json"):
        (legacy / name).write_bytes((out / name).read_bytes())
    for tau in (5, 7):  # as an older neurodeploy did: the second comparison replaces the first
        outcome = invoke("compare", legacy, out, "--tau", tau)
        assert outcome.exit_code == 0 and "same tick" in outcome.stdout and outcome.stderr == "", outcome.output
        assert json.loads((legacy / "compare.json").read_text())["van_rossum_tau_ms"] == tau
    (legacy / "compare.json").write_text("my notes\n")
    outcome = invoke("compare", legacy, out)
    assert outcome.exit_code == 0 and "same tick" in outcome.stdout, outcome.output
    assert outcome.stderr.count("\n") == 1 and "compare.json' was not written by neurodeploy" in outcome.stderr
    assert (legacy / "compare.json").read_text() == "my notes\n"


def test_a_comparison_waits_for_a_short_writer_instead_of_refusing(tmp_path):
    out = tmp_path / "run"
    write_run(out, {"model": {"name": "first"}}, result("first"))
    run = read_run(out)
    holder = rundir._lock(out)  # another neurodeploy adding its compare.json
    releaser = threading.Timer(0.2, rundir._unlock, [holder])
    releaser.start()
    try:
        path = write_document(run, "compare.json", {"passed": True})
    finally:
        releaser.join()
    assert json.loads(path.read_text()) == {"passed": True}


def test_a_comparison_refuses_with_one_line_when_the_writer_holds_on(tmp_path, monkeypatch):
    out = tmp_path / "run"
    write_run(out, {"model": {"name": "first"}}, result("first"))
    monkeypatch.setattr(rundir, "DOCUMENT_LOCK_WAIT_S", 0.1)
    holder = rundir._lock(out)
    try:
        with pytest.raises(ValidationError, match=f"being written by another neurodeploy \\(pid {os.getpid()}\\)"):
            write_document(read_run(out), "compare.json", {"passed": True})
    finally:
        rundir._unlock(holder)
    assert not os.path.lexists(out / "compare.json")


def test_a_failed_deploy_names_a_log_that_still_exists(tmp_path, monkeypatch):
    from neurodeploy.backends.spinnaker import toolchain

    class FailingSpynnaker:
        """sPyNNaker's child process, ended at once with its output and exit status 1."""

        def __init__(self, arguments, stdout, stderr, **kwargs):
            stdout.write(b"mapping...\n")
            stderr.write(b"Traceback ...\nRuntimeError: no route\n")
            self.returncode = 1

        def poll(self):
            return self.returncode

        def wait(self, timeout=None):
            return self.returncode

    monkeypatch.setattr(toolchain, "subprocess", SimpleNamespace(Popen=FailingSpynnaker))  # the toolchain's only
    out = tmp_path / "deployed"
    outcome = invoke(
        "deploy",
        "feedforward-poisson",
        "--param",
        "n_neurons=2",
        "--duration",
        "20",
        "--target",
        "spinn5",
        "--out",
        out,
    )
    assert outcome.exit_code == 1 and "RuntimeError: no route" in outcome.output
    log = Path(outcome.output.split("(full log: ")[1].split(")")[0])
    assert log.read_text() == "mapping...\nTraceback ...\nRuntimeError: no route\n"
    assert not os.path.lexists(out / "deploy.json")
    # The next run into the folder removes the failed attempt.
    with staged_directory(out, "deploy") as staging:
        (staging / "deploy.json").write_text("{}")
    assert not log.exists() and left_behind(out) == []


def test_a_failed_first_run_leaves_no_folder_and_a_failed_rerun_the_old_one(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValidationError):
        with staged_directory(out, "run") as staging:
            (staging / "manifest.json").write_text("{}")
            raise ValidationError("stimulus", None, "bad")
    assert not out.exists()
    write_run(out, {"model": {"name": "first"}}, result("first"))
    before = snapshot(out)
    with pytest.raises(KeyboardInterrupt):
        with staged_directory(out, "run") as staging:
            (staging / "manifest.json").write_text("{}")
            raise KeyboardInterrupt
    assert snapshot(out) == before and left_behind(out) == []


def test_a_failed_first_run_meeting_a_second_first_run_reports_its_own_error(tmp_path, monkeypatch):
    out = tmp_path / "run"
    unlink = Path.unlink

    def and_another_writer_opens_the_lock(self, *args, **kwargs):
        unlink(self, *args, **kwargs)
        if self.name == "lock":
            self.touch()  # a second first run to the same --out creates the lock file anew

    monkeypatch.setattr(Path, "unlink", and_another_writer_opens_the_lock)
    with pytest.raises(ValidationError, match="bad stimulus"):
        with staged_directory(out, "run"):
            raise ValidationError("stimulus", None, "bad stimulus")
    assert (out / STORE / "lock").is_file(), "the second writer's store must stay"


def test_a_forked_child_left_behind_does_not_keep_the_folder_locked(tmp_path):
    out = tmp_path / "run"
    release_read, release_write = os.pipe()
    ready_read, ready_write = os.pipe()
    with staged_directory(out, "run") as staging:
        write_run_files(staging, {"model": {"name": "first"}, "seed": 1}, result("first"))
        child = os.fork()  # as a Lava worker is forked while the run holds the lock
        if child == 0:
            os.close(release_write)
            os.write(ready_write, b"1")  # its fork hooks have run
            os.read(release_read, 1)
            os._exit(0)
        os.read(ready_read, 1)
    try:
        write_run(out, {"model": {"name": "second"}, "seed": 2}, result("second"))
        assert read_run(out).manifest["seed"] == 2
    finally:
        os.close(release_write)
        os.waitpid(child, 0)
        for descriptor in (release_read, ready_read, ready_write):
            os.close(descriptor)


def test_a_working_folder_that_was_deleted_is_refused_at_once(tmp_path, network_file):
    gone = tmp_path / "gone"
    gone.mkdir()
    command = [sys.executable, "-m", "neurodeploy", "run", str(network_file), "--out", "res"]
    script = (
        f"import os, subprocess, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
        f"sys.exit(subprocess.run({command!r}, env={{**os.environ, 'PYTHONPATH': {str(ROOT)!r}}}).returncode)"
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr == "error: option --out: cannot write 'res': No such file or directory\n"


@pytest.mark.parametrize("damage", ["[1,2", "[]", '{"files": 3}'])
def test_a_damaged_marker_is_refused_in_one_line(tmp_path, network_file, damage):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out).exit_code == 0
    (out / STORE / "current" / MARKER).write_text(damage)
    before = snapshot(out)
    for args in (("compare", out, out), ("run", network_file, "--out", out)):  # compare prints its table first
        outcome = invoke(*args)
        assert outcome.exit_code == 2 and outcome.stderr.count("\n") == 1, outcome.output
        assert MARKER in outcome.stderr and "cannot tell which files it wrote" in outcome.stderr
    assert snapshot(out) == before


def test_a_users_file_in_a_folder_the_next_runs_do_not_write_stays_in_sight(tmp_path):
    out = tmp_path / "run"
    with staged_directory(out, "run") as staging:
        write_run_files(staging, {"model": {"name": "first"}}, result("first"))
        (staging / "compile").mkdir()
    old_folder = (out / "compile").resolve()  # a shell whose working folder is OUT/compile
    write_run(out, {"model": {"name": "second"}}, result("second"))  # writes no compile/
    (old_folder / "notes.md").write_text("mine")
    for name in ("third", "fourth"):
        write_run(out, {"model": {"name": name}}, result(name))
    assert (out / "compile" / "notes.md").read_text() == "mine"


def spike_record_of_many_pieces(rng) -> SpikeRecord:
    """Populations with silent and busy neurons, a label JSON escapes, spikes on a 0.1 ms grid."""
    trains = {
        label: [np.sort(rng.choice(1000, rng.integers(0, 7), replace=False)) / 10.0 for _ in range(size)]
        for label, size in (("A", 40), ("pop é", 3), ("silent", 5))
    }
    trains["silent"] = [np.empty(0)] * 5
    return SpikeRecord(0.1, 100.0, "spinnaker", trains)


def test_spikes_json_written_in_pieces_is_the_one_shot_encoding(tmp_path, monkeypatch):
    from neurodeploy import results

    record = spike_record_of_many_pieces(np.random.default_rng(3))
    monkeypatch.setattr(results, "SPIKES_PER_PIECE", 7)
    monkeypatch.setattr(results, "TRAINS_PER_PIECE", 4)
    for case in (record, SpikeRecord(1.0, 10.0, "brian2", {})):
        rundir.write_spikes(tmp_path / "spikes.json", case)
        text = (tmp_path / "spikes.json").read_text()
        assert text == json.dumps(case.to_dict(), indent=1) + "\n"
        read = SpikeRecord.from_dict(json.loads(text))
        assert read.sizes() == case.sizes()
        for label, trains in case.populations.items():
            assert all(np.array_equal(a, b) for a, b in zip(read.populations[label], trains))


def test_spikes_json_prints_every_time_as_its_own_float(tmp_path):
    """Times formatted once per tick print as json prints each: two floats within one tick, a negative
    zero, a time far from the rest keep their own text."""
    trains = [np.array([0.1, 0.30000000000000004, 0.3]), np.array([-0.0, 0.0, 0.2]), np.array([1e20])]
    record = SpikeRecord(0.1, 100.0, "spinnaker", {"A": trains, "B": [np.array([0.5, 0.7]), np.empty(0)]})
    rundir.write_spikes(tmp_path / "spikes.json", record)
    assert (tmp_path / "spikes.json").read_text() == json.dumps(record.to_dict(), indent=1) + "\n"
    assert "0.30000000000000004" in (tmp_path / "spikes.json").read_text()


def test_spikes_json_failing_midway_leaves_the_earlier_file_and_no_temporary(tmp_path, monkeypatch):
    from neurodeploy import results

    monkeypatch.setattr(results, "SPIKES_PER_PIECE", 5)
    path = tmp_path / "spikes.json"
    rundir.write_spikes(path, result("earlier").spikes)
    earlier = path.read_bytes()

    formatted = results._trains_text

    def fails_after_the_first_pieces(trains, dt_ms):
        if any(times is record.populations["A"][30] for times in trains):
            raise OSError("disk full")
        return formatted(trains, dt_ms)

    record = spike_record_of_many_pieces(np.random.default_rng(4))
    monkeypatch.setattr(results, "_trains_text", fails_after_the_first_pieces)
    with pytest.raises(OSError, match="disk full"):
        rundir.write_spikes(path, record)
    assert path.read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spikes.json"]
