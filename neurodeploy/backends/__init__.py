"""Backends: one small interface, found through the ``neurodeploy.backends`` entry-point group.

A backend package imports the description layer, the types every layer shares (``neurodeploy.results``,
``neurodeploy.compilation``) and its own dependency, never another backend (tests/test_architecture.py
checks the import graph). Importing this registry imports no backend: each is loaded when asked for by
name.
"""

from __future__ import annotations

import abc
from importlib.metadata import entry_points
from typing import Callable, ClassVar

from neurodeploy.description import Network
from neurodeploy.description.resources import MemoryEstimate
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.results import Progress, RunResult

ENTRY_POINT_GROUP = "neurodeploy.backends"


class Backend(abc.ABC):
    """Runs a validated network for a duration and returns its recordings."""

    name: ClassVar[str]
    summary: ClassVar[str]
    options: ClassVar[dict[str, tuple]] = {}
    """Backend-specific options: name -> (allowed values, default)."""

    @abc.abstractmethod
    def run(self, network: Network, duration_ms: float, progress: Progress | None = None) -> RunResult:
        """Simulate ``duration_ms`` (a multiple of dt) and return spikes, traces and final weights."""

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this backend cannot run here although it loads (an environment of its own is missing),
        in words that say what to do; None when it can."""
        return None

    def estimate_memory(self, network: Network, duration_ms: float) -> MemoryEstimate:
        """The peak memory ``run`` would need, from the description alone (nothing generated). A backend
        that does not estimate is bounded only by the process's memory cap."""
        return MemoryEstimate(f"{self.name} backend")


def refuse_changes(network: Network, what: str):
    """For what cannot run a schedule of changes yet: one refusal naming the first change."""
    if network.changes:
        raise ValidationError(
            network.changes[0].where, None, f"{what} does not run parameter or weight changes during a run yet"
        )


def refuse_plastic_weight_changes(network: Network, backend: str):
    """A weight change on a plastic projection would overwrite learned weights whose stored form each
    backend keeps its own way: refused, naming the change, until a backend sets them exactly."""
    for change in network.changes:
        projection = network.projections.get(getattr(change, "projection", None))
        if projection is not None and projection.plasticity is not None:
            raise ValidationError(
                change.where,
                "projection",
                f"'{projection.label}' is plastic: the {backend} backend does not change learned weights",
            )


def _entry_points():
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


EXTRAS = {"pyNN": "spinnaker", "spynnaker": "spinnaker"}
"""The optional dependencies' top-level modules, and the extra of ``pip install 'neurodeploy[EXTRA]'`` giving each."""


def install_hint(error: ImportError) -> str:
    """How to install what an import missed, when it is one of the optional dependencies."""
    extra = EXTRAS.get((error.name or "").split(".")[0])
    return f" (pip install 'neurodeploy[{extra}]')" if extra else ""


def backend_names() -> list[str]:
    return sorted(_entry_points())


def backend_class(name: str) -> type[Backend]:
    entries = _entry_points()
    if name not in entries:
        raise ValidationError(
            "option --backend", None, f"unknown backend '{name}' (available: {', '.join(sorted(entries))})"
        )
    try:
        return entries[name].load()
    except ImportError as error:
        raise BackendError(f"backend '{name}' cannot be loaded: {error}{install_hint(error)}") from error


def make_backend(name: str, **options) -> Backend:
    cls = backend_class(name)
    for key, value in options.items():
        if key not in cls.options:
            known = ", ".join(cls.options) or "none"
            raise ValidationError(f"backend '{name}'", key, f"unknown option (known: {known})")
        allowed, _default = cls.options[key]
        if allowed is not None and value not in allowed:
            raise ValidationError(
                f"backend '{name}'", key, f"must be one of {', '.join(map(str, allowed))}, got {value!r}"
            )
    return cls(**options)


class LoweringRegistry:
    """Maps description types to a backend's lowering functions (Nengo's builder registry): adding a
    neuron or plasticity type to a backend means registering one function here."""

    def __init__(self, backend: str):
        self.backend = backend
        self._functions: dict[type, Callable] = {}
        self._parts: dict[type, dict[str, type]] = {}
        self._refusals: dict[type, str] = {}

    def register(self, description_type: type, **parts: type):
        """Register a function for ``description_type`` and its subclasses. ``parts`` (a cell's, by
        attribute: ``neuron=LeakyIntegrate``) are the part types the function computes: a subclass
        composed of another part is refused, not lowered as if it had that one."""

        def decorator(function):
            self._functions[description_type] = function
            self._parts[description_type] = parts
            return function

        return decorator

    def functions(self) -> list[Callable]:
        """What is registered, in the order of registration."""
        return list(self._functions.values())

    def refuse(self, description_type: type, reason: str):
        """Declare a type this backend does not run, with the reason users will read."""
        self._refusals[description_type] = reason

    def lookup(self, description: object) -> Callable:
        """The function registered for ``description`` (an object or its type), through its class hierarchy."""
        description_type = description if isinstance(description, type) else type(description)
        for cls in description_type.__mro__:
            if cls in self._refusals:
                raise BackendError(f"the {self.backend} backend does not run {cls.__name__}: {self._refusals[cls]}")
            if cls in self._functions:
                for name, part in self._parts[cls].items():
                    found = getattr(description, name)
                    if not isinstance(found, part):
                        raise BackendError(
                            f"the {self.backend} backend lowers {cls.__name__} with {name} "
                            f"{part.__name__}; {description_type.__name__}'s {name} is "
                            f"{type(found).__name__}: register a lowering for it"
                        )
                return self._functions[cls]
        raise BackendError(f"the {self.backend} backend cannot lower {description_type.__name__}")
