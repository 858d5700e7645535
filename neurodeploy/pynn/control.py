"""setup, run, end and the state queries: PyNN's common functions on this module's state."""

from pyNN import common
from pyNN.common.control import DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import unsupported

BACKENDS = ("brian2", "spinnaker", "lava")


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, backend="brian2", seed=0, **extra_params):
    """Start a new network, run on ``backend`` (brian2, spinnaker or lava) with ``seed`` for the spikes of
    SpikeSourcePoisson; connectors draw with their own rng as in PyNN (whose default rng has a fixed seed)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    for name in extra_params:
        if name not in ("max_delay", "t_flush"):  # t_flush: NEST's reset flushes its queues; here nothing is queued
            raise unsupported(f"the setup() argument {name!r}")
    common.setup(timestep, min_delay, **extra_params)
    simulator.state.clear()
    simulator.state.dt = timestep
    simulator.state.min_delay = min_delay
    simulator.state.max_delay = extra_params.get("max_delay", "auto")
    simulator.state.backend = backend
    simulator.state.seed = seed
    return rank()


def end(compatible_output=True):
    """Write what was recorded to a file (``record(..., to_file=...)``) and forget the network."""
    for population, variables, filename in simulator.state.write_on_end:
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []
    simulator.state.clear()


run, run_until = common.build_run(simulator)
run_for = run


reset = common.build_reset(simulator)


initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = common.build_state_queries(
    simulator
)
