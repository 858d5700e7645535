"""PyNN's API on neurodeploy: ``import neurodeploy.pynn as sim`` in a PyNN script builds a neurodeploy
description, which ``run`` runs on the backend ``setup(backend=...)`` chose. Built on PyNN's common
classes as PyNN's own simulator modules are (``pyNN.mock`` is the model). STDP has sPyNNaker's meaning
(``plasticity``; ``setup(stdp_amplitudes="pynn")`` reads additive A_plus and A_minus as PyNN's standard,
scaled by w_max), and sPyNNaker's ``extra_models.SpikeNearestPairRule`` is here too, as are its structural
mechanisms (``structural``: ``sim.StructuralMechanismStatic``, ``sim.StructuralMechanismSTDP``, their partner
selection, formation and elimination). IF_curr_delta weights are sPyNNaker's charges (nA ms), or with
``setup(delta_weights="pynn")`` PyNN's jumps of V (mV). What has no description yet (PyNN's other standard
models, other plasticity) raises NotImplementedError naming it."""

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import (  # noqa: F401
    AllToAllConnector,
    ArrayConnector,
    CloneConnector,
    CSAConnector,
    DisplacementDependentProbabilityConnector,
    DistanceDependentProbabilityConnector,
    FixedNumberPostConnector,
    FixedNumberPreConnector,
    FixedProbabilityConnector,
    FixedTotalNumberConnector,
    FromFileConnector,
    FromListConnector,
    IndexBasedProbabilityConnector,
    OneToOneConnector,
    SmallWorldConnector,
)
from pyNN.random import NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import cells, electrodes, synapses

from neurodeploy.pynn import extra_models  # noqa: F401
from neurodeploy.pynn.control import (  # noqa: F401
    end,
    get_current_time,
    get_max_delay,
    get_min_delay,
    get_time_step,
    initialize,
    num_processes,
    rank,
    reset,
    run,
    run_for,
    run_until,
    setup,
)
from neurodeploy.pynn.electrodes import ACSource, DCSource, NoisyCurrentSource, StepCurrentSource  # noqa: F401
from neurodeploy.pynn.plasticity import (  # noqa: F401
    AdditiveWeightDependence,
    MultiplicativeWeightDependence,
    SpikeNearestPairRule,
    SpikePairRule,
    STDPMechanism,
)
from neurodeploy.pynn.populations import Assembly, Population, PopulationView  # noqa: F401
from neurodeploy.pynn.procedural_api import connect, create, record  # noqa: F401
from neurodeploy.pynn.projections import Projection  # noqa: F401
from neurodeploy.pynn.standardmodels import (  # noqa: F401
    IF_cond_exp,
    IF_curr_delta,
    IF_curr_exp,
    Izhikevich,
    SpikeSourceArray,
    SpikeSourcePoisson,
    StaticSynapse,
)
from neurodeploy.pynn.structural import (  # noqa: F401
    DistanceDependentFormation,
    LastNeuronSelection,
    RandomByWeightElimination,
    RandomSelection,
    StructuralMechanismStatic,
    StructuralMechanismSTDP,
)


def _not_yet(base: type) -> type:
    """PyNN's ``base`` under its own name, refusing to be made: a script using it fails where it uses it."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"neurodeploy.pynn does not support {base.__name__} yet")

    return type(base.__name__, (base,), {"__init__": __init__, "__doc__": base.__doc__})


def _standard_classes(module) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__ and not name.startswith("_")
    }


for _name, _base in {
    **_standard_classes(cells),
    **_standard_classes(synapses),
    **_standard_classes(electrodes),
}.items():
    if _name not in globals():
        globals()[_name] = _not_yet(_base)


def list_standard_models():
    """The standard cell types this module runs."""
    return [
        cell.__name__
        for cell in (IF_curr_exp, IF_cond_exp, IF_curr_delta, Izhikevich, SpikeSourceArray, SpikeSourcePoisson)
    ]
