"""A built wheel works anywhere: installed with the spinnaker extra from the package index into a fresh
venv of the project's Python, and run from an empty folder, it lists every model family and target and
answers the CAM demo (its protocol given by name) as the clone does.

The wheel is built (``pip wheel . --no-deps --no-build-isolation``) from a copy of the clone without
its hidden folders, caches and earlier build output: setuptools builds in the source tree and packs
whatever an earlier build left in ``build/``, so a wheel built in the clone itself could hold files the
project no longer has. The venv gets the dependencies from the index, pinned by ``constraints.txt``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ["run", "ca3-cam", "--param", "cue_size=5", "--param", "content_size=10", "--backend", "brian2"]
ENV = {
    key: value
    for key, value in os.environ.items()
    if key
    not in (
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "NEURODEPLOY_MODEL_PATH",
        "NEURODEPLOY_TARGET_PATH",
        "NEURODEPLOY_LAVA_ENV",
        "XDG_DATA_HOME",
    )
}


def run(command, cwd: Path, timeout: float = 300, env: dict | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def not_in_a_fresh_clone(folder: str, names: list[str]) -> set[str]:
    """What a fresh clone lacks, for ``shutil.copytree``: hidden entries (.git, venvs), caches, and the
    build output and run folders at the top."""
    left_out = {name for name in names if name.startswith(".") or name == "__pycache__" or name.endswith(".egg-info")}
    if Path(folder) == ROOT:
        left_out |= {"build", "dist", "runs", "out"} & set(names)
    return left_out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(ROOT, work / "source", symlinks=True, ignore=not_in_a_fresh_clone)
    run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", work / "dist"],
        source,
    )
    [built] = (work / "dist").glob("neurodeploy-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv of this Python with the wheel and its spinnaker extra installed; its bin folder."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", venv], venv)
    run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "-q",
            "--only-binary=:all:",
            "-c",
            ROOT / "constraints.txt",
            f"{wheel}[spinnaker]",
        ],
        venv,
        timeout=1200,
    )
    run([venv / "bin" / "python", "-m", "pip", "check"], venv)
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_holds_the_package_and_its_data_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "neurodeploy/backends/lava/worker-constraints.txt" in names
    assert not [name for name in names if name.startswith(("tests/", "scripts/"))]
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {"neurodeploy"}


@pytest.mark.slow
def test_the_installed_wheel_lists_models_and_targets_and_answers_the_demo_as_the_clone(installed, tmp_path):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    where = run(
        [
            installed / "python",
            "-c",
            "import importlib.util, neurodeploy; print(neurodeploy.__file__); "
            "print(importlib.util.find_spec('spynnaker') is not None)",
        ],
        empty,
    ).split()
    assert Path(where[0]).resolve().is_relative_to(installed.parent.resolve()) and where[1] == "True", where

    listed = run([installed / "neurodeploy", "models"], empty)
    assert listed == run([sys.executable, "-m", "neurodeploy", "models"], ROOT)
    families = {line.split()[0] for line in listed.splitlines() if not line[0].isspace()}
    assert families == {
        "ca3-cam",
        "feedforward-poisson",
        "hippocampus-dg-ca3-ca1",
        "hippocampus-sparse",
        "livewired-assoc",
        "spyblocks",
        "topographic-map",
        "wave-layers",
    }
    targets = run([installed / "neurodeploy", "targets"], empty)
    assert targets == run([sys.executable, "-m", "neurodeploy", "targets"], ROOT)
    assert {line.split()[0] for line in targets.splitlines()} == {
        "spinn3",
        "spinn5",
        "loihi2",
        "loihi2-nir-paper",
        "spinn5-2019",
    }

    run([installed / "neurodeploy", *DEMO, "--protocol", "ca3-cam-exp1", "--out", "x"], empty)
    run(
        [
            sys.executable,
            "-m",
            "neurodeploy",
            *DEMO,
            "--protocol",
            ROOT / "models" / "protocols" / "ca3-cam-exp1.json",
            "--out",
            tmp_path / "clone",
        ],
        ROOT,
    )
    answers = json.loads((empty / "x" / "answers.json").read_text())
    assert answers == json.loads((tmp_path / "clone" / "answers.json").read_text())
    assert len(answers["operations"]) == 9


@pytest.mark.slow
def test_the_installed_wheel_sets_up_the_lava_environment_and_runs_lava_as_the_clone(installed, tmp_path):
    """Outside a clone the Lava environment goes to the user's data folder: missing, `backends` says how to
    create it; `setup-lava` creates it there, linked to the installed package; a lava run from an empty
    folder then gives the clone's spikes."""
    empty, data = tmp_path / "elsewhere", tmp_path / "data"
    empty.mkdir()
    user = {"XDG_DATA_HOME": str(data)}
    backends = {
        line.split()[0]: line for line in run([installed / "neurodeploy", "backends"], empty, env=user).splitlines()
    }
    assert "not available" in backends["lava"] and "neurodeploy setup-lava" in backends["lava"]
    assert str(data / "neurodeploy" / "venv-lava") in backends["lava"]
    run([installed / "neurodeploy", "setup-lava"], empty, timeout=1200, env=user)
    linked = data / "neurodeploy" / "venv-lava" / "lib" / "python3.10" / "site-packages" / "neurodeploy"
    assert (
        linked.resolve()
        == (
            installed.parent
            / "lib"
            / f"python{sys.version_info[0]}.{sys.version_info[1]}"
            / "site-packages"
            / "neurodeploy"
        ).resolve()
    )
    small = ["run", "feedforward-poisson", "--param", "n_neurons=20", "--duration", "300", "--backend", "lava"]
    run([installed / "neurodeploy", *small, "--out", "x"], empty, env=user)
    run([sys.executable, "-m", "neurodeploy", *small, "--out", tmp_path / "clone"], ROOT)
    spikes = json.loads((empty / "x" / "spikes.json").read_text())
    assert spikes["populations"] == json.loads((tmp_path / "clone" / "spikes.json").read_text())["populations"]
    assert sum(map(len, spikes["populations"]["neurons"]["spike_times_ms"])) > 100
