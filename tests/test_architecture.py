"""The import graph, read from the source with ``ast`` (nothing is imported): the layering that lets a
backend, a toolchain or a model family be added without touching the others.

- The description layer imports nothing of neurodeploy outside itself and ``neurodeploy.errors``.
- The shared types (``results``, ``compilation``) and the small shared modules (``errors``,
  ``processes``, ``protocols``) import only the description layer and each other.
- A backend package (``neurodeploy/backends/NAME/``) imports the description layer, the shared types,
  ``errors``, ``processes``, the backend registry and the shared modules directly in
  ``neurodeploy/backends/``, the PyNN export (``neurodeploy.interchange.pynn_export``, which imports only the
  description layer: the SpiNNaker target's script is its output) and itself: never another backend,
  ``toolchains``, ``runs``, ``pipeline``, ``catalog`` or ``cli``. The registry and those shared modules import
  no backend package.
- Run folders (``neurodeploy/runs/``) import no backend, toolchain, pipeline, catalog or cli.
- The report (``neurodeploy/report/``) reads folders: it imports the description layer, the shared modules,
  ``runs`` and itself, never a backend, toolchain, pipeline, catalog or cli.
- Interchange (``neurodeploy/interchange/``: NIR import and export, PyNN export) imports the description layer,
  ``errors`` and itself; it alone imports the ``nir`` package.
- The PyNN front end (``neurodeploy/pynn/``) imports the description layer, ``errors``, ``results``, the backend
  registry (``neurodeploy.backends``, never a backend package) and itself; it imports PyNN, never sPyNNaker.
- A model family (``neurodeploy/models/``) imports the description layer, ``errors``, ``protocols``, ``results``
  and its own helpers.
- A simulator (Brian2, Lava, PyNN/sPyNNaker) is imported only by its own backend; Lava only by the modules
  of the Lava worker (``graph``, ``worker``, ``proc``), which the main process never imports.
- Nothing imports ``neurodeploy.cli`` but ``neurodeploy.__main__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
MODELS = REPOSITORY / "neurodeploy" / "models"  # package data, imported as neurodeploy_models by the catalog
PACKAGES = {"neurodeploy": REPOSITORY / "neurodeploy", "neurodeploy_models": MODELS}
BACKENDS = sorted(path.parent.name for path in (REPOSITORY / "neurodeploy" / "backends").glob("*/__init__.py"))
SIMULATORS = {"brian2": ("brian2",), "lava": ("lava",), "spinnaker": ("pyNN", "spynnaker")}
LAVA_WORKER = ("neurodeploy.backends.lava.graph", "neurodeploy.backends.lava.worker", "neurodeploy.backends.lava.proc")
"""The modules that run in the Lava environment's worker process."""
SHARED_TYPES = ("neurodeploy.results", "neurodeploy.compilation")
SHARED = ("neurodeploy.errors", "neurodeploy.processes", "neurodeploy.protocols", *SHARED_TYPES)


def source_modules() -> dict[str, Path]:
    """Every module of the package and of the model families, by the name it is imported as."""
    modules = {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            if package == "neurodeploy" and path.is_relative_to(MODELS):
                continue
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))] = path
    return modules


MODULES = source_modules()


def imports(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import anywhere in ``source`` (one inside a function counts):
    relative imports resolved against ``module``, and ``from package import name`` taken as importing
    ``package.name`` when that is a module."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            found += [
                (node.lineno, f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
                for alias in node.names
            ]
    return list(dict.fromkeys(found))


def inside(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def backend_of(module: str) -> str | None:
    """The backend package a module belongs to (None for the registry, shared backend modules, the rest)."""
    parts = module.split(".")
    return parts[2] if parts[:2] == ["neurodeploy", "backends"] and len(parts) > 2 and parts[2] in BACKENDS else None


def allowed(module: str) -> tuple[tuple[str, ...], tuple[str, ...], str] | None:
    """What ``module`` may import of neurodeploy: packages (with everything in them), single modules, and
    the rule's words; None for the top layer (cli, pipeline, catalog, toolchains), which wires the others."""
    backend = backend_of(module)
    registry = (
        "neurodeploy.backends",
        *(
            name
            for name in MODULES
            if name.startswith("neurodeploy.backends.") and name.count(".") == 2 and backend_of(name) is None
        ),
    )
    below_backends = ("neurodeploy.description", *SHARED_TYPES, "neurodeploy.errors", "neurodeploy.processes")
    if inside(module, "neurodeploy.description"):
        return (
            ("neurodeploy.description", "neurodeploy.errors"),
            (),
            "the description layer imports only itself and errors",
        )
    if inside(module, *SHARED):
        return (
            ("neurodeploy.description", *SHARED),
            (),
            "a shared module imports only the description layer and shared modules",
        )
    if backend is not None:
        return (
            (*below_backends, f"neurodeploy.backends.{backend}"),
            (*registry, "neurodeploy.interchange", "neurodeploy.interchange.pynn_export"),
            f"backend '{backend}' imports the description layer, shared types and modules, the PyNN export, "
            "and itself only",
        )
    if inside(module, "neurodeploy.backends"):
        return (
            below_backends,
            registry,
            "the backend registry and shared backend modules import no backend, only what backends share",
        )
    if inside(module, "neurodeploy.interchange"):
        return (
            ("neurodeploy.description", "neurodeploy.errors", "neurodeploy.interchange"),
            (),
            "interchange imports the description layer, errors and itself only",
        )
    if inside(module, "neurodeploy.pynn"):
        return (
            ("neurodeploy.description", "neurodeploy.errors", "neurodeploy.results", "neurodeploy.pynn"),
            ("neurodeploy.backends",),
            "the PyNN front end imports the description layer, errors, results, the backend registry and itself",
        )
    if inside(module, "neurodeploy.runs"):
        return (
            ("neurodeploy.description", *SHARED, "neurodeploy.runs"),
            ("neurodeploy",),
            "run folders import no backend, toolchain, pipeline, catalog or cli",
        )
    if inside(module, "neurodeploy.report"):
        return (
            ("neurodeploy.description", *SHARED, "neurodeploy.runs", "neurodeploy.report"),
            ("neurodeploy",),
            "the report reads folders: it imports the description layer, shared modules, runs and itself only",
        )
    if inside(module, "neurodeploy_models"):
        return (
            (
                "neurodeploy.description",
                "neurodeploy.errors",
                "neurodeploy.protocols",
                "neurodeploy.results",
                "neurodeploy_models",
            ),
            (),
            "a model family imports the description layer, errors, protocols and results only",
        )
    return None


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """What in ``source`` breaks the layering, one line each, naming the module, the line and the import."""
    rule = allowed(module)
    found = []
    for line, imported in imports(module, source, is_package):
        where = f"{module} (line {line}) imports {imported}"
        if imported == "neurodeploy.cli" and module != "neurodeploy.__main__":
            found.append(f"{where}: nothing imports the command line")
        elif (
            rule is not None
            and inside(imported, "neurodeploy", "neurodeploy_models")
            and not inside(imported, *rule[0])
            and imported not in rule[1]
        ):
            found.append(f"{where}: {rule[2]}")
        for backend, libraries in SIMULATORS.items():
            front_end = inside(module, "neurodeploy.pynn") and inside(imported, "pyNN")
            if inside(imported, *libraries) and backend_of(module) != backend and not front_end:
                found.append(f"{where}: only the {backend} backend imports its simulator")
        if inside(imported, "nir") and not inside(module, "neurodeploy.interchange"):
            found.append(f"{where}: only neurodeploy.interchange imports the nir package")
        if inside(imported, "lava", *LAVA_WORKER) and backend_of(module) == "lava" and not inside(module, *LAVA_WORKER):
            found.append(f"{where}: the main process never imports Lava, only the Lava worker's modules do")
    return found


def test_the_import_graph_keeps_its_layers():
    assert {
        "neurodeploy.description.network",
        "neurodeploy.backends.spinnaker.rules",
        "neurodeploy.backends.lava.proc.pair_stdp.models",
        "neurodeploy.runs.rundir",
        "neurodeploy_models.ca3_cam",
        "neurodeploy.pynn.simulator",
    } <= MODULES.keys()
    assert BACKENDS == ["brian2", "lava", "spinnaker"]
    found = [
        problem
        for module, path in MODULES.items()
        for problem in violations(module, path.read_text(), path.name == "__init__.py")
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "module, source, expected",
    [
        (
            "neurodeploy.backends.spinnaker.rules",
            "from neurodeploy.toolchains import Finding",
            "neurodeploy.backends.spinnaker.rules (line 1) imports neurodeploy.toolchains: backend 'spinnaker'",
        ),
        (
            "neurodeploy.backends.lava.toolchain",
            "from neurodeploy.runs.compare import compare",
            "imports neurodeploy.runs.compare: backend 'lava'",
        ),
        (
            "neurodeploy.backends.spinnaker.kernel",
            "def f():\n    from ..lava.graph import LavaGraph",
            "(line 2) imports neurodeploy.backends.lava.graph: backend 'spinnaker'",
        ),
        (
            "neurodeploy.backends.spinnaker.kernel",
            "from neurodeploy.backends import lava",
            "imports neurodeploy.backends.lava: backend 'spinnaker'",
        ),
        ("neurodeploy.backends", "import neurodeploy.backends.brian2", "shared backend modules import no backend"),
        (
            "neurodeploy.description.network",
            "from neurodeploy.results import SpikeRecord",
            "imports neurodeploy.results: the description layer",
        ),
        ("neurodeploy.description.cells", "import brian2", "imports brian2: only the brian2 backend"),
        ("neurodeploy.backends.lava.graph", "from pyNN import spiNNaker", "only the spinnaker backend"),
        (
            "neurodeploy.backends.lava.cells",
            "from lava.proc.lif.process import LIF",
            "the main process never imports Lava",
        ),
        ("neurodeploy.backends.lava.launcher", "from .graph import LavaGraph", "the main process never imports Lava"),
        ("neurodeploy.pipeline", "def f():\n    import neurodeploy.cli", "imports neurodeploy.cli: nothing imports"),
        ("neurodeploy_models.ca3_cam", "from neurodeploy.backends import make_backend", "a model family"),
        ("neurodeploy.interchange.nir_import", "from neurodeploy.backends import make_backend", "interchange imports"),
        ("neurodeploy.interchange.nir_import", "from neurodeploy.runs import rundir", "interchange imports"),
        ("neurodeploy.catalog", "import nir", "only neurodeploy.interchange imports the nir package"),
        ("neurodeploy.pynn.simulator", "from neurodeploy.backends.brian2 import Brian2Backend", "the PyNN front end"),
        ("neurodeploy.pynn.build", "from neurodeploy.runs import rundir", "the PyNN front end"),
        ("neurodeploy.pynn.populations", "import spynnaker", "only the spinnaker backend imports its simulator"),
        ("neurodeploy.report.page", "from neurodeploy.backends import make_backend", "the report reads folders"),
        ("neurodeploy.report.layout", "from neurodeploy import catalog", "the report reads folders"),
    ],
)
def test_a_broken_layer_is_named(module, source, expected):
    found = violations(module, source)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(
    "module, source",
    [
        (
            "neurodeploy.backends.spinnaker.rules",
            "from neurodeploy.compilation import Finding\nfrom neurodeploy.backends.spinnaker import fixedpoint as fp",
        ),
        ("neurodeploy.backends.lava.proc.structural.models", "from ..rewiring import Rewiring\nimport lava.magma"),
        ("neurodeploy.backends.lava.worker", "def f():\n    from neurodeploy.backends.lava.graph import LavaGraph"),
        ("neurodeploy.backends.brian2", "from neurodeploy.backends import Backend\nfrom . import discrete"),
        ("neurodeploy.__main__", "from neurodeploy.cli import main"),
        ("neurodeploy_models.ca3_cam", "from ._hippocampus import Timing"),
        ("neurodeploy.interchange.nir_import", "import nir\nfrom neurodeploy.description.cells import IFCurrExp"),
        (
            "neurodeploy.pynn.simulator",
            "from pyNN import common\nfrom neurodeploy.backends import make_backend\nfrom .build import build_network",
        ),
    ],
)
def test_what_each_layer_may_import_passes(module, source):
    assert violations(module, source, is_package=module == "neurodeploy.backends.brian2") == []


def test_relative_imports_and_imported_submodules_are_resolved():
    assert imports(
        "neurodeploy.backends.lava.proc.structural.models", "from ..rewiring import Rewiring, max_events"
    ) == [(1, "neurodeploy.backends.lava.proc.rewiring")]
    assert imports("neurodeploy.backends.brian2", "from . import discrete, physics", is_package=True) == [
        (1, "neurodeploy.backends.brian2.discrete"),
        (1, "neurodeploy.backends.brian2.physics"),
    ]
    assert imports("neurodeploy_models.ca3_cam", "from ._hippocampus import Timing") == [
        (1, "neurodeploy_models._hippocampus")
    ]
