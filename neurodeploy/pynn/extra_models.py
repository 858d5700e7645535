"""sPyNNaker's ``extra_models`` that neurodeploy.pynn runs, so that ``sim.extra_models.SpikeNearestPairRule``
in a sPyNNaker script works unchanged."""

from neurodeploy.pynn.plasticity import SpikeNearestPairRule  # noqa: F401
