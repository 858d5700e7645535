"""PyNN's procedural functions (create, connect, record) on this module's classes."""

from pyNN import common
from pyNN.connectors import FixedProbabilityConnector

from neurodeploy.pynn import simulator
from neurodeploy.pynn.populations import Population
from neurodeploy.pynn.projections import Projection
from neurodeploy.pynn.standardmodels import StaticSynapse

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(simulator)
