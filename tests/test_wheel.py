"""A built wheel works outside a clone: model families, protocols and target descriptions ship in it
as package data, so a fresh environment run from an empty folder lists them and reproduces the clone's
CAM demo.

The wheel is built from a copy of the package (the clone stays clean) and installed without its
dependencies into a fresh venv; a ``.pth`` file lends that venv the running environment's
site-packages (the dependencies, no network). A line of a ``.pth`` file only extends ``sys.path``, so
the clone's editable install (a ``.pth`` hook in those site-packages) stays inactive, and the venv's
own site-packages come first: the test checks that ``neurodeploy`` is imported from the venv.
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ["run", "ca3-cam", "--param", "cue_size=5", "--param", "content_size=10", "--backend", "brian2"]
ENV = {key: value for key, value in os.environ.items()
       if key not in ("PYTHONPATH", "NEURODEPLOY_MODEL_PATH", "NEURODEPLOY_TARGET_PATH")}


def run(command, cwd: Path) -> str:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "neurodeploy", source / "neurodeploy", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "-q", "-w", work / "dist", source], work)
    [wheel] = (work / "dist").glob("neurodeploy-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", venv], work)
    [purelib] = (venv / "lib").glob("python*/site-packages")
    (purelib / "dependencies.pth").write_text("".join(f"{folder}\n" for folder in site.getsitepackages()))
    run([venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q", wheel],
        work)
    return venv / "bin"


@pytest.mark.slow
def test_wheel_lists_models_and_targets_and_reproduces_the_demo(installed, tmp_path):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    imported = run([installed / "python", "-c",
                    "import neurodeploy.catalog as c; print(c.__file__); print(c.MODELS)"], empty).splitlines()
    venv = installed.parent.resolve()
    assert all(Path(line).resolve().is_relative_to(venv) for line in imported), imported
    models = Path(imported[1])

    listed = run([installed / "neurodeploy", "models"], empty)
    assert listed == run([sys.executable, "-m", "neurodeploy", "models"], ROOT)
    assert {"ca3-cam", "feedforward-poisson", "hippocampus-dg-ca3-ca1", "livewired-assoc", "topographic-map"} \
        <= {line.split()[0] for line in listed.splitlines()}
    targets = run([installed / "neurodeploy", "targets"], empty)
    assert targets == run([sys.executable, "-m", "neurodeploy", "targets"], ROOT)
    assert {line.split()[0] for line in targets.splitlines()} >= {"spinn3", "spinn5", "loihi2"}

    run([installed / "neurodeploy", *DEMO, "--protocol", models / "protocols" / "ca3-cam-exp1.json", "--out", "x"],
        empty)
    run([sys.executable, "-m", "neurodeploy", *DEMO, "--protocol", "models/protocols/ca3-cam-exp1.json",
         "--out", tmp_path / "clone"], ROOT)
    answers = json.loads((empty / "x" / "answers.json").read_text())
    assert answers == json.loads((tmp_path / "clone" / "answers.json").read_text())
    assert len(answers["operations"]) == 9
