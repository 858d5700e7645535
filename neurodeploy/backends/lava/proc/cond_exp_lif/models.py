"""Integer ProcessModel of CondExpLIF (see process.py for the equations)."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.cond_exp_lif.process import CondExpLIF
from neurodeploy.backends.lava.proc.curr_exp_lif.models import AbstractPyExpLIFFixed


def shifted(product: np.ndarray, shift: int) -> np.ndarray:
    """``product >> shift``, truncated toward zero as the other integer steps are."""
    return np.sign(product) * (np.abs(product) >> shift)


@implements(proc=CondExpLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCondExpLIFFixed(AbstractPyExpLIFFixed):
    e_rev_exc: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    e_rev_inh: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    conductance_shift: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=5)

    def drive(self) -> np.ndarray:
        v, shift = self.v.astype(np.int64), int(self.conductance_shift[0])
        return shifted(self.u_exc.astype(np.int64) * (self.e_rev_exc - v), shift) + shifted(
            self.u_inh.astype(np.int64) * (self.e_rev_inh - v), shift
        )
