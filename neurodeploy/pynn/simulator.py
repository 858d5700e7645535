"""The simulator state PyNN's common classes share: what the script has created, the chosen backend, and
the one run's result."""

from pyNN import common

from neurodeploy.backends import make_backend
from neurodeploy.pynn.build import build_network

name = "neurodeploy"


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """PyNN's simulator state. ``run`` builds the description of everything created so far and runs it once
    on the backend chosen in ``setup``."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = "auto"
        self.max_delay = "auto"
        self.backend = "brian2"
        self.seed = 0
        self.clear()

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        if self.result is not None:
            raise NotImplementedError("neurodeploy.pynn: a second run() or run_until() is not supported yet")
        network = build_network(self, tstop)
        self.result = make_backend(self.backend).run(network, tstop)
        self.t = tstop
        self.running = True

    def clear(self):
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.result = None
        self.id_counter = 0
        self.segment_counter = -1
        self.reset()

    def reset(self):
        self.running = False
        self.t = 0
        self.t_start = 0
        self.segment_counter += 1


state = State()
