"""neurodeploy: describe a spiking network once, run it on neuromorphic targets, prove each target
against a Brian2 reference.

The description layer is the public API (``nd.Network``, ``nd.STDP``, ...). It is loaded when first used,
so that the command line can answer a Ctrl-C while Python is still loading it."""

import importlib

__version__ = "0.1.0"
_ERRORS = ("BackendError", "NeurodeployError", "ValidationError")


def __getattr__(name: str):
    if name in _ERRORS:
        return getattr(importlib.import_module("neurodeploy.errors"), name)
    description = importlib.import_module("neurodeploy.description")
    if name in description.__all__:
        return getattr(description, name)
    raise AttributeError(f"module 'neurodeploy' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_ERRORS, *importlib.import_module("neurodeploy.description").__all__})
