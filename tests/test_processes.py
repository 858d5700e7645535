"""No process left behind and no traceback: signals during a Lava run (the CLI, its Lava worker in the
Lava environment and the worker's own Lava processes), SIGKILL of the CLI, and unexpected errors in a
command."""

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from neurodeploy import pipeline
from neurodeploy.cli import main
from neurodeploy.errors import NeurodeployError

ROOT = Path(__file__).resolve().parent.parent
# Long enough to be still running when signalled: the run is never meant to finish.
LAVA_RUN = [
    "run",
    "feedforward-poisson",
    "--param",
    "n_neurons=20",
    "--param",
    "n_inputs=10",
    "--duration",
    "100000",
    "--backend",
    "lava",
]


def start_lava_run(tmp_path):
    """The CLI in a session of its own, returned once Lava runs: its worker (in a session of its own) and
    the worker's children (the tracker, the shared memory server and one process per Lava process)."""
    (tmp_path / "tmp").mkdir()  # its temporary folder, apart from other runs on the machine
    cli = subprocess.Popen(
        [sys.executable, "-m", "neurodeploy", *LAVA_RUN, "--out", str(tmp_path / "run")],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        # As from a terminal: a suite started under nohup would hand the CLI SIGHUP ignored, which it keeps.
        preexec_fn=partial(signal.signal, signal.SIGHUP, signal.SIG_DFL),
    )
    parent = psutil.Process(cli.pid)
    deadline = time.monotonic() + 60
    while len(parent.children(recursive=True)) < 6:
        assert cli.poll() is None, cli.communicate()
        assert time.monotonic() < deadline, "Lava's workers did not start"
        time.sleep(0.1)
    time.sleep(0.5)
    return cli, parent.children(recursive=True)


def in_session(session: int) -> list[int]:
    alive = []
    for pid in psutil.pids():
        try:
            if os.getsid(pid) == session and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return alive


def gone_within(pids_alive, seconds: float) -> list[int]:
    """What is still alive after ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while (alive := pids_alive()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def signalled(cli, send) -> str:
    """Send the command line a signal, wait for it to end (killed after a minute), and return its stderr."""
    send(cli)
    try:
        return cli.communicate(timeout=60)[1]
    finally:
        cli.kill()


@pytest.mark.parametrize(
    "send, code",
    [
        (lambda cli: os.killpg(cli.pid, signal.SIGINT), 130),  # Ctrl-C in a terminal: the whole group
        (lambda cli: cli.send_signal(signal.SIGTERM), 143),
        (lambda cli: os.killpg(cli.pid, signal.SIGHUP), 129),  # the terminal closed
    ],
)
def test_a_signal_stops_the_lava_run_with_one_line(tmp_path, send, code):
    cli, workers = start_lava_run(tmp_path)
    stderr = signalled(cli, send)
    assert cli.returncode == code
    assert stderr.strip() == "interrupted by " + signal.Signals(code - 128).name + ": stopped the lava run"
    assert gone_within(lambda: in_session(cli.pid) + alive(workers), 5) == []
    assert [path.name for path in (tmp_path / "tmp").iterdir()] == []


def alive(processes: list[psutil.Process]) -> list[int]:
    return [p.pid for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_the_lava_worker_and_its_processes_die_with_a_killed_cli(tmp_path):
    cli, workers = start_lava_run(tmp_path)
    assert any("neurodeploy.backends.lava.worker" in " ".join(worker.cmdline()) for worker in workers)
    cli.kill()
    cli.wait()
    assert gone_within(lambda: alive(workers), 10) == []
    # The killed command could not remove its exchange folder: the next lava run does, and keeps a folder
    # kept for a failure's log and one whose command still runs.
    [abandoned] = (tmp_path / "tmp").glob("neurodeploy-lava-*")
    kept, running = (
        tmp_path / "tmp" / f"neurodeploy-lava-{cli.pid}-kept",
        tmp_path / "tmp" / f"neurodeploy-lava-{os.getpid()}-x",
    )
    kept.mkdir()
    (kept / "kept").touch()
    running.mkdir()
    next_run = subprocess.run(
        [
            sys.executable,
            "-m",
            "neurodeploy",
            *LAVA_RUN[:-4],
            "--duration",
            "20",
            "--backend",
            "lava",
            "--out",
            str(tmp_path / "next"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
    )
    assert next_run.returncode == 0, next_run.stderr
    # (multiprocessing's own pymp-* folder of the killed worker stays: it holds at most a socket)
    left = [path for path in (tmp_path / "tmp").iterdir() if not path.name.startswith("pymp-")]
    assert sorted(left) == sorted([kept, running]) and not abandoned.exists()


def invoke(monkeypatch, tmp_path, *args):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return CliRunner().invoke(main, [str(a) for a in args])


def fails_in_run(monkeypatch, error: BaseException):
    def run_model(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "run_model", run_model)


@pytest.mark.parametrize(
    "error",
    [RecursionError("maximum recursion depth exceeded"), UnicodeError("bad\nbytes"), OSError(5, "Input/output error")],
)  # MemoryError: the memory limit, exit 2
def test_an_unexpected_error_is_one_line_with_the_trace_in_a_log(monkeypatch, tmp_path, error):
    fails_in_run(monkeypatch, error)
    result = invoke(
        monkeypatch, tmp_path, "run", "feedforward-poisson", "--param", "n_neurons=2", "--out", tmp_path / "run"
    )
    assert result.exit_code == 1
    line = result.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith(f"internal error: {type(error).__name__}: ")
    logs = list((tmp_path / "cache" / "neurodeploy" / "logs").iterdir())
    assert len(logs) == 1 and line.endswith(f"(full trace in {logs[0]})")
    trace = logs[0].read_text()
    assert "Traceback" in trace and "in run_model" in trace and type(error).__name__ in trace


def test_a_message_with_a_newline_stays_one_line(monkeypatch, tmp_path):
    fails_in_run(monkeypatch, NeurodeployError("population 'a\nb': cannot run"))
    result = invoke(
        monkeypatch, tmp_path, "run", "feedforward-poisson", "--param", "n_neurons=2", "--out", tmp_path / "run"
    )
    assert result.exit_code == 1
    assert result.stderr == "error: population 'a\\nb': cannot run\n"


def test_a_builder_calling_sys_exit_is_bad_input(monkeypatch, tmp_path):
    builder = tmp_path / "builder.py"
    builder.write_text("import sys\n\ndef build():\n    sys.exit(7)\n")
    result = invoke(monkeypatch, tmp_path, "validate", f"{builder}:build")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and "7" in result.stderr


def test_the_spynnaker_mapping_process_dies_with_a_killed_cli(tmp_path):
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "neurodeploy",
            "compile",
            "feedforward-poisson",
            "--target",
            "spinn5",
            "--out",
            str(tmp_path / "compiled"),
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(cli.pid)
    deadline = time.monotonic() + 60
    while not (mapping := parent.children(recursive=True)):
        assert cli.poll() is None, "the compile ended before its mapping process was seen"
        assert time.monotonic() < deadline, "no mapping process started"
        time.sleep(0.05)
    cli.kill()
    cli.wait()
    # Within a second, well before the mapping would have finished by itself.
    assert (
        gone_within(lambda: [p.pid for p in mapping if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], 1.0)
        == []
    )


def start_deploy_mapping_beside_its_emulation(tmp_path):
    """A deploy CLI in a session of its own, returned with its sPyNNaker mapping process once it executes the
    emulation (long enough to be still running when signalled) while that process maps."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "neurodeploy", "deploy", "feedforward-poisson", "--target", "spinn5",
         "--duration", "100000", "--out", str(tmp_path / "deployed")],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=partial(signal.signal, signal.SIGHUP, signal.SIG_DFL),
    )  # fmt: skip
    seen = []
    while "executing spinn5 on the spinnaker emulation" not in (line := cli.stderr.readline()):
        assert line, f"the deploy ended before it executed: {''.join(seen)}"
        seen.append(line)
    mapping = psutil.Process(cli.pid).children(recursive=True)
    assert any("pynn_script.py" in " ".join(child.cmdline()) for child in mapping), "sPyNNaker is not mapping"
    return cli, mapping


@pytest.mark.parametrize(
    "send, code",
    [(lambda cli: os.killpg(cli.pid, signal.SIGINT), 130), (lambda cli: cli.send_signal(signal.SIGTERM), 143)],
)
def test_a_signal_to_a_deploy_stops_the_mapping_beside_it(tmp_path, send, code):
    cli, mapping = start_deploy_mapping_beside_its_emulation(tmp_path)
    stderr = signalled(cli, send)
    assert cli.returncode == code
    assert stderr.strip().splitlines()[-1] == "interrupted by " + signal.Signals(code - 128).name
    assert gone_within(lambda: in_session(cli.pid) + alive(mapping), 5) == []
    assert not (tmp_path / "deployed").exists()  # nothing published, the staging folder removed


def test_the_mapping_beside_a_deploy_dies_with_a_killed_cli(tmp_path):
    cli, mapping = start_deploy_mapping_beside_its_emulation(tmp_path)
    cli.kill()
    cli.wait()
    assert gone_within(lambda: alive(mapping), 1.0) == []


def test_a_ctrl_c_while_the_toolchain_loads_is_one_line():
    # SIGINT arrives as the command line's modules start loading, before it takes over the signals.
    script = (
        "import builtins, os, signal, sys\n"
        "import neurodeploy.__main__ as entry\n"
        "load = builtins.__import__\n"
        "def interrupting(name, *args, **kwargs):\n"
        "    if name == 'neurodeploy.cli':\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return load(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupting\n"
        "sys.argv = ['neurodeploy', 'models']\n"
        "entry.main()\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 130
    assert finished.stderr == "interrupted by SIGINT\n" and finished.stdout == ""


def test_a_signal_raised_inside_a_finalizer_is_not_lost(capsys):
    import weakref

    from neurodeploy import processes

    class Tracked:
        pass

    with pytest.raises(processes.Interrupted) as interrupted:
        with processes.termination_signals_raise():
            tracked = Tracked()
            finalizer = weakref.ref(tracked, lambda ref: os.kill(os.getpid(), signal.SIGTERM))
            del tracked  # the signal is raised inside the weakref callback, where Python drops exceptions
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert interrupted.value.exit_code == 143 and finalizer() is None
    assert "Exception ignored" not in capsys.readouterr().err
