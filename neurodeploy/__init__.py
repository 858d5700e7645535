"""neurodeploy: describe a spiking network once, run it on neuromorphic targets, prove each target
against a Brian2 reference.

The public API is the description layer (``nd.Network``, ``nd.STDP``, ...) and the workflow
(:mod:`neurodeploy.workflow`: ``nd.load_model``, ``nd.Model``, ``nd.compare``, ``nd.Run``). Both are loaded
when first used, so that the command line can answer a Ctrl-C while Python is still loading them."""

import importlib

__version__ = "0.1.0"
_ERRORS = ("BackendError", "NeurodeployError", "NeurodeployWarning", "ValidationError")
_WORKFLOW = ("Comparison", "Deployment", "Model", "Run", "compare", "load_model")


def __getattr__(name: str):
    if name in _ERRORS:
        return getattr(importlib.import_module("neurodeploy.errors"), name)
    if name in _WORKFLOW:
        return getattr(importlib.import_module("neurodeploy.workflow"), name)
    description = importlib.import_module("neurodeploy.description")
    if name in description.__all__:
        return getattr(description, name)
    raise AttributeError(f"module 'neurodeploy' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_ERRORS, *_WORKFLOW, *importlib.import_module("neurodeploy.description").__all__})
