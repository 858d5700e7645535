"""What a run produced, written by the processes that compute it into files in the run's folder, which
the host reads once the run is over; nothing of it passes through Lava. Lava 0.10's ``Var.get`` sends a
Var to the host one element per message (a round trip of the runtime's management channels each), and a
recorder process costs every tick a round of the runtime's phase messages and a port message (reading a
Var through a RefPort also a management phase of every process): read-back would cost as much as the
simulation, or more.

``Recorded`` is a mixin of ProcessModels. Given a ``Plan`` in its process's
``proc_params`` (under ``RECORDING``), after each tick's spiking phase, in which our processes and Lava's
compute everything, it writes

* the indices of the spikes the process sent on its spike port (the very array it sent), appended to
  ``spikes.int32``, and their count to ``spike_counts.npy`` (a memmap, one entry per tick);
* each Var traced every tick as one row of ``trace.NAME.npy`` (a memmap, ticks x the Var's shape);
* after the last tick, the Vars asked for at the end in ``final.npz``, and the seconds it spent writing
  all of this in ``seconds.npy``, last.

The files are complete when the run's last tick is: each process answers the runtime after its
spiking phase, so the host reads them after ``run`` returns. A process without a plan writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

RECORDING = "neurodeploy_recording"
"""The ``proc_params`` key of a process's ``Plan``."""
SPIKES, SPIKE_COUNTS, FINAL, SECONDS = "spikes.int32", "spike_counts.npy", "final.npz", "seconds.npy"


def trace_file(name: str) -> str:
    return f"trace.{name}.npy"


@dataclass(frozen=True)
class Plan:
    """What one process writes, into its own ``folder``, for a run of ``ticks`` ticks."""

    folder: str
    ticks: int
    spikes: str | None = None
    """The name of the OutPort whose spikes are recorded."""
    traces: tuple[str, ...] = ()
    """The Vars written every tick."""
    final: tuple[str, ...] = ()
    """The Vars written after the last tick."""


class _Recording:
    """A plan carried out after each spiking phase of a model: opens its files at the first tick and wraps the
    spike port's ``send``, so that what is recorded is what was sent."""

    def __init__(self, plan: Plan, model, run_spk):
        self.plan, self.model, self.run_spk = plan, model, run_spk
        self.folder, self.seconds, self.opened = Path(plan.folder), 0.0, False

    def __call__(self) -> None:
        started = time.perf_counter()
        if not self.opened:
            self._open()
        computing = time.perf_counter()
        self.run_spk()
        computed = time.perf_counter()
        self._write()
        self.seconds += computing - started + time.perf_counter() - computed
        if self.model.time_step == self.plan.ticks:
            self._end()

    def _open(self) -> None:
        model, plan = self.model, self.plan
        self.sent = None
        if plan.spikes is not None:
            port = getattr(model, plan.spikes)
            send = port.send

            def sending(data):
                self.sent = data
                send(data)

            port.send = sending
            self.counts = open_memmap(self.folder / SPIKE_COUNTS, "w+", np.int32, (plan.ticks,))
            self.indices = open(self.folder / SPIKES, "wb")  # buffered: the host reads it once it is closed
        self.traces = {}
        for name in plan.traces:
            var = getattr(model, name)
            self.traces[name] = open_memmap(self.folder / trace_file(name), "w+", var.dtype, (plan.ticks, *var.shape))
        self.opened = True

    def _write(self) -> None:
        tick = self.model.time_step - 1
        if self.plan.spikes is not None:
            fired = np.flatnonzero(self.sent).astype(np.int32)
            self.counts[tick] = fired.size
            self.indices.write(fired.tobytes())
        for name, trace in self.traces.items():
            trace[tick] = getattr(self.model, name)

    def _end(self) -> None:
        started = time.perf_counter()
        if self.plan.spikes is not None:
            self.indices.close()
        if self.plan.final:
            with open(self.folder / FINAL, "wb") as file:
                np.savez(file, **{name: np.asarray(getattr(self.model, name)) for name in self.plan.final})
        self.seconds += time.perf_counter() - started
        np.save(self.folder / SECONDS, np.float64(self.seconds))


class Recorded:
    """Mixin of a PyLoihiProcessModel (before ``PyLoihiProcessModel`` in the bases): given a ``Plan`` in its
    process's ``proc_params``, its spiking phase also carries it out."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        plan = proc_params.get(RECORDING) if proc_params is not None else None
        if plan is not None:  # an attribute of the model, found before the class's run_spk wherever it is
            self.run_spk = _Recording(plan, self, self.run_spk)


class Recordings:
    """The host's side: plans the processes' files in ``folder`` (one folder per process) and reads them."""

    def __init__(self, folder: Path, ticks: int):
        self.folder, self.ticks = Path(folder), ticks
        self.plans: dict[int, tuple[object, dict]] = {}  # per process id: the process, what it writes

    def _wants(self, process) -> dict:
        return self.plans.setdefault(process.id, (process, {"spikes": None, "traces": [], "final": []}))[1]

    def spikes(self, process, port: str = "s_out") -> None:
        self._wants(process)["spikes"] = port

    def trace(self, var) -> None:
        wants = self._wants(var.process)
        if var.name not in wants["traces"]:
            wants["traces"].append(var.name)

    def final(self, var) -> None:
        wants = self._wants(var.process)
        if var.name not in wants["final"]:
            wants["final"].append(var.name)

    def _folder(self, process) -> Path:
        return self.folder / f"process{process.id}"

    def give_plans(self) -> None:
        """Put each process's plan into its ``proc_params`` and make its folder (before the compile)."""
        for process, wants in self.plans.values():
            folder = self._folder(process)
            folder.mkdir(parents=True, exist_ok=True)
            plan = Plan(str(folder), self.ticks, wants["spikes"], tuple(wants["traces"]), tuple(wants["final"]))
            process.proc_params.overwrite(RECORDING, plan)

    def spikes_of(self, process) -> tuple[np.ndarray, np.ndarray]:
        """The neuron and the tick of each spike the process sent, in order of tick, then neuron."""
        folder = self._folder(process)
        counts = np.load(folder / SPIKE_COUNTS)
        neurons = np.fromfile(folder / SPIKES, dtype=np.int32).astype(np.int64)
        return neurons, np.repeat(np.arange(self.ticks, dtype=np.int64), counts)

    def trace_of(self, var) -> np.ndarray:
        """The Var after each tick, ticks x its shape, in the model's type: the file itself, mapped read-only (a
        caller copies it into the type it needs in one step)."""
        return np.load(self._folder(var.process) / trace_file(var.name), mmap_mode="r")

    def finals(self) -> dict[tuple[str, str], np.ndarray]:
        """The Vars asked for at the end, per process name and Var name."""
        values = {}
        for process, wants in self.plans.values():
            if wants["final"]:
                with np.load(self._folder(process) / FINAL) as stored:
                    values.update({(process.name, name): stored[name].astype(np.int64) for name in wants["final"]})
        return values

    def seconds(self) -> float:
        """The seconds the processes spent writing their files."""
        return float(sum(np.load(self._folder(process) / SECONDS) for process, _ in self.plans.values()))
