"""The Loihi-class toolchain: compile to a Lava process graph with a report, execute on Lava's
fixed_pt models. Lava's own Loihi runtime is not public, so there is no board path here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.backends import refuse_changes
from neurodeploy.backends.lava import LavaBackend, Lowered, effects, lower, write_parameters
from neurodeploy.backends.lava.cells import QUANTIZATIONS
from neurodeploy.backends.lava.exchange import PARAMETERS
from neurodeploy.backends.lava.quantize import projection_report
from neurodeploy.backends.lava.rules import check_fixed, cores_needed
from neurodeploy.compilation import Compilation, Finding, Thresholds, Toolchain
from neurodeploy.description import resources, values
from neurodeploy.errors import BackendError
from neurodeploy.results import Progress, RunResult

STOCK, OURS = "stock Lava", "neurodeploy"


@dataclass(eq=False)
class LoihiCompilation(Compilation):
    lowered: Lowered
    target: dict
    findings: list[Finding]
    files: list[str] = field(default_factory=list)

    @property
    def errors(self):
        return [f for f in self.findings if f.level == "error"]

    def reference_network(self):
        return self.lowered.reference_network()

    def quantization_effects(self) -> list:
        lowered = self.lowered
        return effects.quantization_effects(
            lowered.network, self.reference_network(), lowered.populations, lowered.projections, lowered.stock
        )

    def processes(self) -> dict:
        network = self.lowered.network
        populations = {
            label: ("lava.proc.lif.LIF", STOCK) if label in self.lowered.stock else (fixed.process_type, OURS)
            for label, fixed in self.lowered.populations.items()
        }
        projections = {}
        for label, projection in network.projections.items():
            if projection.plasticity is not None:  # on slots when it is also structural
                projections[label] = ("PairSTDPSynapses", OURS)
            elif projection.structural is not None:
                projections[label] = ("StructuralSynapses", OURS)
            elif np.all(network.connections(label).delay_ticks == 1):
                projections[label] = ("lava.proc.sparse.Sparse", STOCK)
            else:
                projections[label] = ("lava.proc.sparse.DelaySparse", STOCK)
        sources = {label: ("lava.proc.io.source.RingBuffer", STOCK) for label in network.spike_sources}
        return {"populations": populations, "projections": projections, "spike_sources": sources}

    def report(self) -> dict:
        cores = cores_needed(self.lowered.network, self.target)
        return {
            "target": self.target["name"],
            "findings": [f.to_dict() for f in self.findings],
            "processes": {
                kind: {label: {"process": name, "origin": origin} for label, (name, origin) in items.items()}
                for kind, items in self.processes().items()
            },
            "quantization": {
                "populations": {label: fixed.report() for label, fixed in self.lowered.populations.items()},
                "projections": projection_report(self.lowered.network, self.lowered.projections),
            },
            "resources": {
                "neuro_cores_per_population": cores,
                "neuro_cores": sum(cores.values()),
                "available": self.target["neuro_cores"],
            },
            "files": self.files,
        }

    def text(self) -> str:
        report = self.report()
        lines = [
            f"target {self.target['name']}: {len(self.errors)} errors, "
            f"{sum(f.level == 'warning' for f in self.findings)} warnings"
        ]
        lines += [f"  {finding}" for finding in self.findings]
        lines.append("processes:")
        for kind, items in report["processes"].items():
            for label, item in items.items():
                lines.append(f"  {kind[:-1].replace('_', ' ')} {label}: {item['process']} ({item['origin']})")
        lines.append("quantization per population (v in units of 1/scale mV):")
        lines += [f"  {label}: {fixed.summary()}" for label, fixed in self.lowered.populations.items()]
        lines.append(f"  {'projection':<40} {'syn':>7} {'exp':>4} {'mantissas':>11} {'max rel err':>11} {'->0':>5}")
        for label, item in report["quantization"]["projections"].items():
            mantissa_range = item["mantissa_range"]
            mantissas = "-" if mantissa_range is None else f"{mantissa_range[0]}..{mantissa_range[1]}"
            lines.append(
                f"  {label[:40]:<40} {item['synapses']:>7} {item['weight_exp']:>4} {mantissas:>11} "
                f"{item['largest_relative_weight_error']:>11.2e} {item['synapses_quantized_to_zero']:>5}"
            )
        resources = report["resources"]
        lines.append(
            f"resources: about {resources['neuro_cores']} of {resources['available']} neuro cores "
            f"({self.target['neurons_per_core']} neurons and {self.target['synapses_per_core']} synapses "
            "per core, shares of the published chip totals)"
        )
        return "\n".join(lines)


COMPILE_COSTS = resources.Costs(
    baseline=80e6,
    per_neuron=400,
    per_synapse=110,
    per_plastic_synapse=110,
    per_recorded_value=0,
    per_recorded_spike=0,
    per_source_spike=160,
)
"""Bytes per item of a compile, measured and rounded up (docs/reliability.md): a synapse is its
connection, its mantissa and lava_parameters.npz."""


def quantization(target: dict) -> str:
    """The target's choice of Lava integers (``quantization``, as the backend's option of that name)."""
    where = f"target '{target['name']}'"
    return values.choice(target.get("quantization", "neurodeploy"), QUANTIZATIONS, where, "quantization")


class LoihiToolchain(Toolchain):
    kind = "loihi"
    backend = LavaBackend.name
    # target-semantics.md: quantization-aware float vs Lava integer, feed-forward.
    thresholds = Thresholds(min_same_tick=0.99, min_within_one=0.997, max_rate_error=0.007)

    def compile(self, network, target, out, duration_ms, map_resources=True):
        refuse_changes(network, f"the {target.get('name', self.kind)} target")
        lowered = lower(network, quantization(target))
        compilation = LoihiCompilation(
            lowered, target, check_fixed(network, lowered.populations, lowered.projections, target)
        )
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_parameters(lowered, out / PARAMETERS)
        (out / "lava_graph.json").write_text(json.dumps(compilation.processes(), indent=1) + "\n")
        compilation.files = ["lava_graph.json", PARAMETERS]
        return compilation

    def estimate_memory(self, network, duration_ms):
        return resources.estimate(network, duration_ms, f"{self.kind} compile step", COMPILE_COSTS)

    def execute(
        self,
        compilation: LoihiCompilation,
        out: Path,
        duration_ms: float,
        board: Path | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        if board is not None:
            raise BackendError("the loihi target runs on Lava's CPU models only: Lava's Loihi runtime is not public")
        backend = LavaBackend(quantization=quantization(compilation.target))
        return backend.run(compilation.lowered.network, duration_ms, progress, parameters=Path(out) / PARAMETERS)
