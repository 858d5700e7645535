"""The simulator state PyNN's common classes share: what the script has created, the chosen backend, and
the running block of runs (everything since setup() or the last reset()) with its result.

Execution is lazy: ``run`` and ``run_until`` only advance the time. When data are first needed, the
backend runs the block's whole description from t = 0 (its parameter, weight and spike-time changes
scheduled at the times the script made them), and again only if the script ran further since: a run is
deterministic, so the part already seen is unchanged."""

from pyNN import common

from neurodeploy.backends import make_backend
from neurodeploy.pynn.build import build_network

name = "neurodeploy"


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """PyNN's simulator state; ``changes`` are the block's scheduled description changes, ``result`` its
    run up to ``result_until`` ms (None until data were needed)."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = "auto"
        self.max_delay = "auto"
        self.backend = "brian2"
        self.backend_options = {}
        self.seed = 0
        self.stdp_amplitudes = "spynnaker"
        self.delta_weights = "spynnaker"
        self.block_observer = None
        self.ended = False
        self.clear()

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        if self.t == 0 and tstop > 0:  # the block's first tick: what it starts from is fixed now
            for population in self.populations:
                population.start_block()
        self.t = max(self.t, tstop)
        self.ended = False  # a run after end(): the longer block is handed over again when it ends
        for source in self.current_sources:
            source.ran(self.dt, self.t, int(self.seed))
        self.running = True
        self.has_run = True

    def execute(self):
        """The block's result up to now, run if not yet."""
        if self.result is None or self.result_until != self.t:
            network = build_network(self, self.t)
            self.result = make_backend(self.backend, **self.backend_options).run(network, self.t)
            self.result_until = self.t
        return self.result

    def end_block(self):
        """Hands a block that ran (its whole description) to ``block_observer``, if one is set and the block
        was not handed at end(): how ``neurodeploy capture`` takes a script's network, run or not."""
        if self.block_observer is not None and getattr(self, "t", 0) > 0 and not self.ended:
            self.block_observer(build_network(self, self.t))
        self.ended = False

    def end(self):
        """PyNN's end(): the block is handed over; the network and its result stay readable until the
        next setup()."""
        self.end_block()
        self.ended = True

    def clear(self):
        self.end_block()
        self.t = 0  # the block is handed over: reset() below has none to hand
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.id_counter = 0
        self.segment_counter = -1
        self.has_run = False
        self.reset()

    def reset(self):
        """A new block: time 0, the initial values, the parameters as set now, the weights as the block
        started with (changes made during it are dropped), nothing run yet."""
        self.end_block()
        self.running = False
        self.t = 0
        self.t_start = 0
        self.segment_counter += 1
        self.changes = []
        self.result = None
        self.result_until = None
        for population in self.populations:
            population.end_block()
        for source in self.current_sources:
            source.end_block()


state = State()
