"""The Lava environment: a Python 3.10 virtual environment with lava-nc and numpy 1.x (lava-nc 0.10's
limits), in which the Lava worker runs, so that the main environment can be a current Python with
numpy 2. ``neurodeploy setup-lava`` (and ``make setup``) create it: the pinned set of
``worker-constraints.txt`` and a link to this very ``neurodeploy`` package, so the worker always runs
the code the main process runs.

Where it is: ``$NEURODEPLOY_LAVA_ENV`` if set; in a clone, ``.venv-lava`` beside ``pyproject.toml``;
otherwise ``$XDG_DATA_HOME/neurodeploy/venv-lava`` (``~/.local/share/...``).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from neurodeploy.errors import BackendError, ValidationError

ENVIRONMENT_VARIABLE = "NEURODEPLOY_LAVA_ENV"
PYTHON_VERSION = (3, 10)
MARKER = "neurodeploy-lava.json"
PACKAGE = Path(__file__).resolve().parents[2]
"""The ``neurodeploy`` package the worker must run: this one."""


def constraints_text() -> str:
    return resources.files("neurodeploy.backends.lava").joinpath("worker-constraints.txt").read_text()


def default_location() -> Path:
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return Path(os.environ[ENVIRONMENT_VARIABLE]).absolute()
    if (PACKAGE.parent / "pyproject.toml").is_file():
        return PACKAGE.parent / ".venv-lava"
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data.absolute() / "neurodeploy" / "venv-lava"


@dataclass(frozen=True)
class LavaEnvironment:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def expected_marker(self) -> dict:
        return {"package": str(PACKAGE), "constraints_sha256": hashlib.sha256(constraints_text().encode()).hexdigest()}

    def problem(self) -> str | None:
        """Why the worker cannot run here (None when it can), in words that say what to do."""
        create = "create it with `neurodeploy setup-lava` (or `make setup` in a clone)"
        if not self.python.exists():
            return f"the Lava environment (Python 3.10 with lava-nc) is missing at {self.path}: {create}"
        try:
            marker = json.loads((self.path / MARKER).read_text())
        except (OSError, ValueError):
            return f"the Lava environment at {self.path} was not completed: {create}"
        if marker != self.expected_marker():
            return f"the Lava environment at {self.path} was set up for another neurodeploy or set of pins: {create}"
        return None

    def require(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise BackendError(problem)


def find_python() -> str | None:
    """A Python 3.10: on PATH, else one of pyenv's."""
    candidates = [shutil.which("python3.10")]
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        root = ""
    if root:
        candidates += sorted(glob.glob(os.path.join(root, "versions", "3.10.*", "bin", "python3.10")), reverse=True)
    return next((candidate for candidate in candidates if candidate and _version(candidate) == PYTHON_VERSION), None)


def _version(python: str) -> tuple | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(map(int, out.stdout.split())) if out.returncode == 0 else None


def create(path: Path, python: str | None = None, echo=print) -> LavaEnvironment:
    """Create (or complete, or bring up to date) the Lava environment at ``path`` with ``python`` (a 3.10;
    found on PATH or pyenv when not given): the pinned packages from the registry, then the link to this
    package; a folder holding another Python is refused. The marker is written last: an interrupted set-up
    is never taken for a complete one, and the next set-up completes it."""
    environment = LavaEnvironment(Path(path).absolute())
    python = python or find_python()
    if python is None:
        raise BackendError(
            "the Lava environment needs Python 3.10 (lava-nc 0.10 runs on no other): none found on "
            "PATH or in pyenv; give one with --python"
        )
    version = _version(python)
    if version != PYTHON_VERSION:
        found = "not runnable" if version is None else ".".join(map(str, version))
        raise ValidationError(
            "option --python",
            None,
            f"the Lava environment needs Python 3.10 (lava-nc 0.10 runs on no other); {python} is {found}",
        )
    if environment.python.exists():
        version = _version(str(environment.python))
        if version != PYTHON_VERSION:
            found = "no runnable Python" if version is None else f"a Python {'.'.join(map(str, version))}"
            raise ValidationError(
                "setup-lava",
                "DIR",
                f"{environment.path} holds {found}, not the Lava "
                "environment's 3.10: remove it or choose another folder",
            )
    (environment.path / MARKER).unlink(missing_ok=True)
    if not (environment.python.exists() and _has_pip(environment.python)):  # new, or its creation interrupted
        echo(f"creating {environment.path} with {python}")
        _check([python, "-m", "venv", str(environment.path)], "creating the virtual environment")
    constraints = environment.path / "worker-constraints.txt"
    constraints.write_text(constraints_text())
    pins = [
        line.split("==")[0] for line in constraints_text().splitlines() if "==" in line and not line.startswith("#")
    ]
    pip = [str(environment.python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", str(constraints)]
    echo(f"installing lava-nc and {len(pins) - 1} other pinned packages into {environment.path}")
    _check([*pip, "pip"], "installing pip")
    _check([*pip, "--only-binary=:all:", *[pin for pin in pins if pin != "pip"]], "installing the pinned packages")
    site = subprocess.run(
        [str(environment.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    link = Path(site) / "neurodeploy"
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(PACKAGE, target_is_directory=True)
    (environment.path / MARKER).write_text(json.dumps(environment.expected_marker(), indent=1) + "\n")
    environment.require()
    echo(f"the Lava environment is ready: {environment.path} (neurodeploy linked from {PACKAGE})")
    return environment


def _has_pip(python: Path) -> bool:
    """False for a virtual environment whose creation was interrupted before it installed pip."""
    return subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def _check(command: list[str], what: str) -> None:
    outcome = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if outcome.returncode != 0:
        lines = [line for line in outcome.stdout.splitlines() if line.strip()]
        sys.stderr.write("\n".join(lines[-20:]) + "\n")
        raise BackendError(f"setting up the Lava environment failed while {what} (exit {outcome.returncode})")
