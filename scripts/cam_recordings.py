"""Run the two CA3 CAM experiments recorded on SpiNNaker hardware (../shared/reference/ca3-cam/) on
every backend: how many recorded spikes each reproduces (same neuron, same tick), and whether the
decoded answers agree with the reference's, operation by operation.

    .venv/bin/python scripts/cam_recordings.py [--shared ../shared] [--backends brian2 spinnaker lava]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neurodeploy.backends import make_backend
from neurodeploy.catalog import MODELS, load_model

ROOT = Path(__file__).resolve().parent.parent

EXPERIMENTS = {
    "exp1_recorded_spikes.json": ("ca3-cam-exp1.json", 90.0),
    "exp3_recorded_spikes.json": ("ca3-cam-exp3-state-map.json", 140.0),
}
PARTS = {"IN": ("INcue", "INcont"), "OUT": ("OUTcue", "OUTcont")}


def recorded(recording: dict, label: str, size: int) -> list[set]:
    """Recorded ticks per neuron; IN and OUT are recorded as their cue and content halves."""

    def trains(name, count):
        return [set(recording["populations"].get(name, {}).get(str(i), [])) for i in range(count)]

    if label in PARTS:
        cue, content = PARTS[label]
        return trains(cue, recording["cue_size"]) + trains(content, size - recording["cue_size"])
    return trains(label, size)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--backends", nargs="+", default=["brian2", "spinnaker", "lava"])
    args = parser.parse_args(argv)
    print(
        f"{'experiment':<28} {'backend':<10} {'hardware spikes':>15} {'reproduced':>10} {'extra':>6} "
        f"{'answers as reference':>20}"
    )
    for name, (protocol_file, duration) in EXPERIMENTS.items():
        recording = json.loads((Path(args.shared) / "reference" / "ca3-cam" / name).read_text())
        parameters = {"cue_size": recording["cue_size"], "content_size": recording["content_size"]}
        answers = {}
        for backend in args.backends:
            model = load_model("ca3-cam", parameters)
            protocol = model.family.module.PROTOCOL
            operations = protocol.parse(json.loads((MODELS / "protocols" / protocol_file).read_text()), model.arguments)
            network = model.network.with_spike_times(protocol.stimulus(operations, model.arguments))
            result = make_backend(backend).run(network, duration)
            answers[backend] = [
                item["answer"] for item in protocol.decode(operations, result.spikes, model.arguments)["operations"]
            ]
            total = matched = extra = 0
            for label in result.spikes.populations:
                expected = recorded(recording, label, network.size_of(label))
                for ours, theirs in zip(result.spikes.ticks(label), expected):
                    ours = set(ours.tolist())
                    total += len(theirs)
                    matched += len(ours & theirs)
                    extra += len(ours - theirs)
            same = sum(a == b for a, b in zip(answers[backend], answers[args.backends[0]]))
            print(
                f"{name:<28} {backend:<10} {total:>15} {matched:>10} {extra:>6} {same:>13}/{len(operations):<6}",
                flush=True,
            )


if __name__ == "__main__":
    main()
