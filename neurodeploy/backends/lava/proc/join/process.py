"""``Join``: a process that makes Lava compile unconnected parts of a graph together. Lava compiles only
the processes connected to the one it is called on; a Join's RefPorts, connected to one Var of each part,
connect them. It reads nothing (results are written by the processes themselves: :mod:`..recording`)."""

from __future__ import annotations

from lava.magma.core.process.ports.ports import RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class Join(AbstractProcess):
    """Up to ``SLOTS`` Vars, ``ref_i`` connected to ``vars[i]``; the model declares every slot, so the unused
    ones are present but connected to nothing."""

    SLOTS = 8

    def __init__(self, *, vars: list[Var], name=None):
        if not 0 < len(vars) <= self.SLOTS:
            raise ValueError(f"a Join connects 1 to {self.SLOTS} Vars, not {len(vars)}")
        super().__init__(name=name)
        for slot in range(self.SLOTS):
            ref = RefPort(shape=vars[slot].shape if slot < len(vars) else (1,))
            if slot < len(vars):
                ref.connect_var(vars[slot])
            setattr(self, f"ref_{slot}", ref)
