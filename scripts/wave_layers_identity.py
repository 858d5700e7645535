"""Measure, at full size, what the tests assert at a reduced one: over the growth phase of ``wave-layers``
the SpiNNaker emulation and Lava fire spike for spike as the reference run on their numbers (the
quantization-aware reference) and end with the same plastic weights.

    .venv/bin/python scripts/wave_layers_identity.py [--n 16] [--layers 2] [--duration-ms 20000]
        [--backends spinnaker,lava] [--out scripts/results]

Writes wave_layers_identity.json to ``--out``: per backend the spikes of each side, the share of the
target's spikes found on the same tick and neuron in the reference (and the reverse), and per plastic
projection whether the synapses and weights are equal and the largest weight difference.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from neurodeploy.backends import make_backend
from neurodeploy.catalog import load_model
from neurodeploy.runs.rundir import write_json_atomically

ROOT = Path(__file__).resolve().parent.parent


def reference_on_the_targets_numbers(backend: str, network):
    """The network as the target computes it, for the Brian2 reference."""
    if backend == "spinnaker":
        from neurodeploy.backends.spinnaker.graph import lower
        from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling

        graph = lower(network)
        return quantization_aware(network, graph, ring_buffer_scaling(graph))
    from neurodeploy.backends.lava import lower

    return lower(network).reference_network()


def spike_set(run, label) -> set[tuple[int, int]]:
    return {(neuron, int(tick)) for neuron, ticks in enumerate(run.spikes.ticks(label)) for tick in ticks}


def compare(target, reference, network) -> dict:
    populations = {}
    for label in network.populations:
        ours, theirs = spike_set(target, label), spike_set(reference, label)
        common = len(ours & theirs)
        populations[label] = {
            "target_spikes": len(ours),
            "reference_spikes": len(theirs),
            "target_in_reference": common / len(ours) if ours else 1.0,
            "reference_in_target": common / len(theirs) if theirs else 1.0,
        }
    projections = {}
    for label in target.weights:
        ours, theirs = target.weights[label], reference.weights[label]
        same_synapses = all(np.array_equal(ours[key], theirs[key]) for key in ("pre", "post"))
        difference = np.abs(ours["weight"] - theirs["weight"]).max() if same_synapses else None
        initial = network.projections[label].weight
        projections[label] = {
            "same_synapses": same_synapses,
            "largest_weight_difference_nA": None if difference is None else float(difference),
            "largest_growth_nA": float(np.abs(theirs["weight"] - initial).max()),
        }
    return {"populations": populations, "plastic_projections": projections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--duration-ms", type=float, default=20000.0)
    parser.add_argument("--backends", default="spinnaker,lava")
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "results")
    args = parser.parse_args()
    unknown = set(args.backends.split(",")) - {"spinnaker", "lava"}
    if unknown:
        parser.error(
            "--backends: spinnaker and/or lava (the backends with a quantization-aware reference), "
            f"got {', '.join(sorted(unknown))}"
        )
    parameters = {"n": args.n, "layers": args.layers, "duration_ms": args.duration_ms}
    document = {"parameters": parameters, "machine": platform.processor() or platform.machine(), "backends": {}}
    for backend in args.backends.split(","):
        network = load_model("wave-layers", parameters).network
        started = time.perf_counter()
        reference = make_backend("brian2").run(reference_on_the_targets_numbers(backend, network), args.duration_ms)
        reference_s = time.perf_counter() - started
        started = time.perf_counter()
        target = make_backend(backend).run(network, args.duration_ms)
        target_s = time.perf_counter() - started
        measured = compare(target, reference, network) | {"reference_s": reference_s, "target_s": target_s}
        document["backends"][backend] = measured
        for label, counts in measured["populations"].items():
            print(
                f"{backend} {label}: {counts['target_spikes']} spikes against {counts['reference_spikes']}, "
                f"{counts['target_in_reference']:.4%} on the reference's ticks"
            )
        for label, weights in measured["plastic_projections"].items():
            print(f"{backend} {label}: same synapses {weights['same_synapses']}, "
                  f"largest weight difference {weights['largest_weight_difference_nA']} nA "
                  f"(largest growth {weights['largest_growth_nA']:.3f} nA)")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(args.out / "wave_layers_identity.json", document)


if __name__ == "__main__":
    main()
