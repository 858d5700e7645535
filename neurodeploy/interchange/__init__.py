"""Interchange with other tools' formats: NIR graphs (neuromorphs/NIR) read as networks and written from
them, and networks written as PyNN scripts (``pynn_export``; PyNN scripts are read by ``neurodeploy.pynn``).
This layer imports the description layer and the format's own package, never a backend."""

from neurodeploy.errors import ValidationError


def nir_package(purpose: str):
    """The ``nir`` package, or one error naming what to install for ``purpose`` ("reading NIR graphs")."""
    try:
        import nir
    except ImportError as error:
        raise ValidationError(
            "NIR graph",
            None,
            f"{purpose} needs the package '{error.name or 'nir'}' (pip install nir, which brings h5py)",
        ) from None
    return nir
