"""neurodeploy: describe a spiking network once, run it on neuromorphic targets, prove each target
against a Brian2 reference."""
from neurodeploy.description import *  # noqa: F401,F403  (the description layer is the public API)
from neurodeploy.description import __all__ as _description_api
from neurodeploy.errors import BackendError, NeurodeployError, ValidationError

__version__ = "0.1.0"
__all__ = [*_description_api, "BackendError", "NeurodeployError", "ValidationError"]
