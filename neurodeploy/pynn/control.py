"""setup, run, end and the state queries: PyNN's common functions on this module's state."""

import numpy as np
from pyNN import common
from pyNN.common.control import DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

import neurodeploy.description as nd
from neurodeploy.backends import make_backend
from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import unsupported

BACKENDS = ("brian2", "spinnaker", "lava")

STDP_AMPLITUDES = ("spynnaker", "pynn")
"""How STDP's additive A_plus and A_minus read (``setup(stdp_amplitudes=...)``): sPyNNaker's absolute
weight steps, or PyNN's standard steps scaled by w_max."""

DELTA_WEIGHTS = ("spynnaker", "pynn")
"""How IF_curr_delta weights read (``setup(delta_weights=...)``): sPyNNaker's charges (nA ms, a tick of
current ``q / dt``), or PyNN's standard jumps of V (mV), given to the description as the charges that make
exactly those jumps (``build.delta_charges_per_mV``)."""

RECORDING = {"spinnaker": "spynnaker"}
"""The recording convention get_data follows per backend, where not the backend's default (the end of each
tick): on spinnaker sPyNNaker's (V at the start of each tick, the synaptic state after its input and before
its decay), the recordings a PyNN user of SpiNNaker has and compares with."""


def setup(
    timestep=DEFAULT_TIMESTEP,
    min_delay=DEFAULT_MIN_DELAY,
    backend="brian2",
    seed=0,
    backend_options=None,
    stdp_amplitudes="spynnaker",
    delta_weights="spynnaker",
    **extra_params,
):
    """Start a new network, run on ``backend`` (brian2, spinnaker or lava) with ``seed`` for the spikes of
    SpikeSourcePoisson; connectors draw with their own rng as in PyNN (whose default rng has a fixed seed).
    ``backend_options``: the backend's options (``{"encoding": "2019"}`` on spinnaker: sPyNNaker8's constants);
    ``recording`` defaults to :data:`RECORDING`'s. ``stdp_amplitudes``: how STDP's additive A_plus and
    A_minus read, ``"spynnaker"`` (absolute steps) or ``"pynn"`` (PyNN's standard: steps scaled by w_max).
    ``delta_weights``: how IF_curr_delta weights read, ``"spynnaker"`` (charges, nA ms) or ``"pynn"`` (PyNN's
    standard: the jump of V in mV)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if stdp_amplitudes not in STDP_AMPLITUDES:
        raise ValueError(f"stdp_amplitudes must be one of {', '.join(STDP_AMPLITUDES)}, got {stdp_amplitudes!r}")
    if delta_weights not in DELTA_WEIGHTS:
        raise ValueError(f"delta_weights must be one of {', '.join(DELTA_WEIGHTS)}, got {delta_weights!r}")
    options = {**({"recording": RECORDING[backend]} if backend in RECORDING else {}), **(backend_options or {})}
    make_backend(backend, **options)  # options are checked here, not at run()
    for name in extra_params:
        if name not in ("max_delay", "verbosity", "t_flush"):  # t_flush: NEST's reset flushes its queues
            raise unsupported(f"the setup() argument {name!r}")
    common.setup(timestep, min_delay, **extra_params)
    simulator.state.clear()
    simulator.state.dt = timestep
    simulator.state.min_delay = min_delay
    simulator.state.max_delay = extra_params.get("max_delay", "auto")
    simulator.state.backend = backend
    simulator.state.backend_options = options
    simulator.state.seed = seed
    simulator.state.stdp_amplitudes = stdp_amplitudes
    simulator.state.delta_weights = delta_weights
    return rank()


def end(compatible_output=True):
    """Write what was recorded to a file (``record(..., to_file=...)``) and end the block (``capture`` takes
    it now). The network and its recordings stay until the next setup(): get_data after end() still
    returns them, as on PyNN's NEST module."""
    for population, variables, filename in simulator.state.write_on_end:
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []
    simulator.state.end()


run, run_until = common.build_run(simulator)
run_for = run


reset = common.build_reset(simulator)


initialize = common.initialize

get_current_time, get_time_step, _setup_min_delay, get_max_delay, num_processes, rank = common.build_state_queries(
    simulator
)


def get_min_delay():
    """setup's min_delay; with 'auto', the smallest delay of the connections made so far (the time step
    when there are none), as PyNN's simulators compute it."""
    if simulator.state.min_delay != "auto":
        return _setup_min_delay()
    delays = [
        float(np.min(part.delay))
        for projection in simulator.state.projections
        for part in projection.descriptions
        if not (isinstance(part.connector, nd.FromList) and len(part.connector.pre) == 0)
    ]
    return min(delays, default=simulator.state.dt)
