"""Measure where the published CA3 CAM departs from an ideal associative memory.

Randomized workloads (several seeds; growing load = memories stored, and overlap = content-bit
density) are run on a backend and decoded against the ideal oracle; agreement is reported per
operation type, and for recalls by content the share of answers with extra (spurious) cues and with
missing cues. Each workload learns ``load`` memories, then mixes recalls by cue and by content in one
of three scenarios: single-bit queries; multi-bit queries (2-3 bits, which co-activate bits of
different memories: Hebbian interference); single-bit queries with relearning. The paper's testbench
is measured too. Everything runs at the paper's 14 ms spacing and at the minimum spacing (7 ms after
a learn, 6 ms after a recall).

    .venv/bin/python scripts/cam_workloads.py --out cam_workloads.json            # full grid, minutes
    .venv/bin/python scripts/cam_workloads.py --quick --out /tmp/cam_quick.json   # smoke run
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurodeploy.backends import make_backend
from neurodeploy.catalog import load_model, model_families
from neurodeploy.runs.rundir import write_json_atomically

model_families()  # makes the model folders importable as the neurodeploy_models package
from neurodeploy_models._hippocampus import paper_testbench  # noqa: E402

SPACINGS = {
    "paper (14 ms)": {"learn": 14, "recall_cue": 14, "recall_content": 14},
    "minimum (7/6 ms)": {"learn": 7, "recall_cue": 6, "recall_content": 6},
}


SCENARIOS = {
    "single-bit queries": {"query_bits": (1, 1), "relearn_rate": 0.0},
    "multi-bit queries": {"query_bits": (2, 3), "relearn_rate": 0.0},
    "relearning": {"query_bits": (1, 1), "relearn_rate": 0.2},
}


def random_workload(rng, cue_size, content_size, memories, density, recalls, query_bits, relearn_rate, spacing):
    """Learn ``memories`` random cues, then ``recalls`` random operations; times follow ``spacing``."""

    def content():
        bits = np.flatnonzero(rng.random(content_size) < density)
        return sorted(bits.tolist()) if bits.size else [int(rng.integers(content_size))]

    stored = rng.choice(cue_size, size=memories, replace=False).tolist()
    operations = [{"op": "learn", "cue": cue, "content": content()} for cue in stored]
    for _ in range(recalls):
        kind = rng.random()
        if kind < relearn_rate:
            operations.append({"op": "learn", "cue": int(rng.choice(stored)), "content": content()})
        elif kind < (1 + relearn_rate) / 2:
            operations.append({"op": "recall_cue", "cue": int(rng.choice(stored))})
        else:
            size = int(rng.integers(query_bits[0], query_bits[1] + 1))
            operations.append(
                {"op": "recall_content", "content": sorted(rng.choice(content_size, size=size, replace=False).tolist())}
            )
    return timed(operations, spacing)


def timed(operations, spacing, start=1):
    t = start
    for operation in operations:
        operation["t"] = t
        t += spacing[operation["op"]]
    return operations


def run_protocol(model, operations, backend):
    protocol = model.family.module.PROTOCOL
    parsed = protocol.parse(operations, model.arguments)
    network = model.network.with_spike_times(protocol.stimulus(parsed, model.arguments))
    result = make_backend(backend).run(network, protocol.duration_ms(parsed))
    return protocol.decode(parsed, result.spikes, model.arguments)


def measures(answers) -> dict:
    """Agreement per operation type; for recalls by content, shares with extra and missing cues."""
    result = {op: counts["agree"] / counts["operations"] for op, counts in answers["summary"]["by_type"].items()}
    by_content = [item for item in answers["operations"] if item["op"] == "recall_content"]
    if by_content:
        result["extra_cues"] = np.mean([bool(set(i["answer"]["cues"]) - set(i["ideal"]["cues"])) for i in by_content])
        result["missing_cues"] = np.mean([bool(set(i["ideal"]["cues"]) - set(i["answer"]["cues"])) for i in by_content])
    return result


MEASURES = ("learn", "recall_cue", "recall_content", "extra_cues", "missing_cues")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cue-size", type=int, default=16)
    parser.add_argument("--content-size", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--loads", type=float, nargs="+", default=[0.25, 0.5, 1.0], help="fractions of the cues that hold a memory"
    )
    parser.add_argument("--densities", type=float, nargs="+", default=[0.1, 0.25, 0.5], help="content-bit density")
    parser.add_argument("--recalls", type=int, default=40)
    parser.add_argument("--backend", default="brian2")
    parser.add_argument("--quick", action="store_true", help="a tiny grid, to check the script runs")
    parser.add_argument("--out", required=True, help="JSON file for the results")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.loads, args.densities, args.recalls = 1, [0.5], [0.25], 8

    model = load_model("ca3-cam", {"cue_size": args.cue_size, "content_size": args.content_size})
    rows, started = [], time.perf_counter()
    print(_header())
    for spacing_name, spacing in SPACINGS.items():
        answers = run_protocol(model, timed(paper_testbench(args.cue_size, args.content_size), spacing), args.backend)
        rows.append({"workload": "paper testbench", "spacing": spacing_name, "seeds": 1, "mean": measures(answers)})
        print(_row(rows[-1]), flush=True)
        for scenario, options in SCENARIOS.items():
            for load in args.loads:
                memories = max(1, int(round(load * args.cue_size)))
                for density in args.densities:
                    per_seed = []
                    for seed in range(args.seeds):
                        rng = np.random.default_rng([seed, memories, int(density * 1000), len(rows)])
                        operations = random_workload(
                            rng,
                            args.cue_size,
                            args.content_size,
                            memories,
                            density,
                            args.recalls,
                            spacing=spacing,
                            **options,
                        )
                        per_seed.append(measures(run_protocol(model, operations, args.backend)))
                    rows.append(
                        {
                            "workload": f"{scenario}: {memories} memories, density {density:g}",
                            "spacing": spacing_name,
                            "seeds": args.seeds,
                            "mean": {k: float(np.mean([s[k] for s in per_seed])) for k in MEASURES},
                            "worst_seed": {k: float(min(s[k] for s in per_seed)) for k in MEASURES[:3]},
                        }
                    )
                    print(_row(rows[-1]), flush=True)
    document = {
        "model": "ca3-cam",
        "cue_size": args.cue_size,
        "content_size": args.content_size,
        "backend": args.backend,
        "recalls_per_workload": args.recalls,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    write_json_atomically(args.out, document)
    print(f"-> {args.out}")


def _header() -> str:
    return (
        f"{'workload':<46} {'spacing':<17} {'learn':>6} {'by cue':>7} {'by content':>10} "
        f"{'(extra cues':>11} {'missing)':>9}"
    )


def _row(row) -> str:
    m = row["mean"]
    return (
        f"{row['workload']:<46} {row['spacing']:<17} {m['learn']:>6.1%} {m['recall_cue']:>7.1%} "
        f"{m['recall_content']:>10.1%} {m['extra_cues']:>11.1%} {m['missing_cues']:>9.1%}"
    )


if __name__ == "__main__":
    main()
