"""The Join's model: it does nothing."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.join.process import Join


@implements(proc=Join, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyJoinFixed(PyLoihiProcessModel):
    """Its ports ``ref_i`` for every slot are set below the class."""


for _slot in range(Join.SLOTS):
    setattr(PyJoinFixed, f"ref_{_slot}", LavaPyType(PyRefPort.VEC_DENSE, np.int64))
