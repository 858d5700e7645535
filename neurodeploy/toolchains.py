"""Target toolchains: how a kind of target (``kind:`` in targets/*.yaml) compiles, maps and executes a
network. Found through the ``neurodeploy.toolchains`` entry-point group, loaded when asked for; the
interface they implement is in ``neurodeploy.compilation``."""

from __future__ import annotations

from importlib.metadata import entry_points

from neurodeploy.backends import install_hint
from neurodeploy.compilation import Toolchain
from neurodeploy.errors import BackendError, ValidationError

ENTRY_POINT_GROUP = "neurodeploy.toolchains"


def toolchain(kind: str) -> Toolchain:
    entries = {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}
    if kind not in entries:
        raise ValidationError(
            "target",
            "kind",
            f"no toolchain for targets of kind '{kind}' (installed: {', '.join(sorted(entries)) or 'none'})",
        )
    try:
        return entries[kind].load()()
    except ImportError as error:
        raise BackendError(f"toolchain '{kind}' cannot be loaded: {error}{install_hint(error)}") from error
