"""Recorders that hand what a run produced to the host through external pipes, one whole array per
message, instead of ``Var.get``: Lava 0.10 sends a Var to the host one element at a time (a round
trip of the runtime's management channels per element, see ``PyLoihiProcessModel._get_var``), so
reading a neurons x ticks buffer back took far longer than simulating it.

* ``SpikeRecorder`` receives a population's spikes each tick and sends them packed 8 per byte.
* ``VarRecorder`` reads Vars of other processes through RefPorts (as Lava's Monitor does, in the
  management phase after the tick's spiking phase): every tick (a voltage trace) or once, at the
  run's last tick (final weights, structural events).

The host takes the messages with ``receive`` after each ``run``: a pipe holds ``buffer`` messages, so
it must have room for every message of the longest run between two receives.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort, RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


def _closed(port: OutPort) -> None:
    """End the host end of a pipe: Lava starts a thread that listens on it, which ``Runtime.stop``
    leaves running (with its semaphores)."""
    if hasattr(port, "external_pipe_csp_recv_port"):  # the runtime was built
        receiver = port.external_pipe_csp_recv_port
        receiver.join()  # releases the thread's semaphore: it ends on its own, soon
        thread = getattr(receiver, "thread", None)
        if thread is not None:
            thread.join(timeout=10.0)


def _received(port: OutPort, count: int) -> np.ndarray:
    """The next ``count`` messages of a recorder's pipe, stacked."""
    pipe = port.external_pipe_csp_recv_port
    return np.stack([pipe.recv() for _ in range(count)]) if count else np.empty((0,) + pipe.shape, dtype=pipe.d_type)


class SpikeRecorder(AbstractProcess):
    """The spikes a population sends each tick, ``packed`` 8 neurons per byte (the pipe's shared memory
    holds a chunk of ticks). ``tie`` holds nothing: a VarRecorder reads it to join a spike source that
    has nothing else connected into a compiled graph."""

    def __init__(self, *, shape: tuple[int], buffer: int, name=None):
        super().__init__(shape=shape, name=name)
        self.a_in = InPort(shape=shape)
        self.packed = OutPort(shape=(-(-shape[0] // 8),))
        self.packed.flag_external_pipe(buffer_size=buffer)
        self.tie = Var(shape=(1,), init=0)

    def close(self) -> None:
        """End the host end of its pipe, after the runtime stopped."""
        _closed(self.packed)

    def receive(self, ticks: int) -> np.ndarray:
        """The spikes of the next ``ticks`` ticks, ticks x neurons (bool)."""
        packed = _received(self.packed, ticks).astype(np.uint8)
        return np.unpackbits(packed, axis=1, count=self.a_in.shape[0], bitorder="little").astype(bool)


class VarRecorder(AbstractProcess):
    """Up to ``SLOTS`` Vars in one process (each process costs every tick a round of the runtime's phase
    messages): slot ``i`` reads ``vars[i]`` through ``ref_i`` and sends it on ``values_i``; the model
    declares every slot, so the unused ones are present but connected to nothing."""

    SLOTS = 8

    def __init__(self, *, vars: list[Var], every_tick: bool, last_tick: int, buffer: int = 1, name=None):
        if not 0 < len(vars) <= self.SLOTS:
            raise ValueError(f"a VarRecorder reads 1 to {self.SLOTS} Vars, not {len(vars)}")
        super().__init__(every_tick=every_tick, last_tick=last_tick, used=len(vars), name=name)
        for slot in range(self.SLOTS):
            var = vars[slot] if slot < len(vars) else None
            ref = RefPort(shape=var.shape if var is not None else (1,))
            values = OutPort(shape=ref.shape)
            if var is not None:
                ref.connect_var(var)
                values.flag_external_pipe(buffer_size=buffer)
            setattr(self, f"ref_{slot}", ref)
            setattr(self, f"values_{slot}", values)

    def close(self) -> None:
        """End the host ends of its pipes, after the runtime stopped."""
        for slot in range(self.proc_params["used"]):
            _closed(getattr(self, f"values_{slot}"))

    def receive(self, slot: int, count: int = 1) -> np.ndarray:
        """The next ``count`` readings of a slot, stacked (int64)."""
        return _received(getattr(self, f"values_{slot}"), count).astype(np.int64)
