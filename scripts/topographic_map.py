"""Reproduce Bogdan et al. 2018's topographic map refinement: run ``topographic-map`` with rewiring and
STDP and with STDP alone (same seed: same input, same initial synapses), measure the receptive
fields (sigma_aff, AD, by connections and by weights) before and after, and print them beside the
published values. The two runs go in parallel, one per process.

    .venv/bin/python scripts/topographic_map.py [--duration-ms 300000] [--backend brian2]
        [--lateral-inhibition] [--conductance] [--seed 1] [--out scripts/results]

On the reference, 300 s of simulated time take about 4 min with rewiring and 1 min with STDP alone
(one core each). Writes topographic_map[_inhibition][_conductance].json and .png (receptive-field
spread over time and final feedforward fields) to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neurodeploy.backends import make_backend  # noqa: E402
from neurodeploy.catalog import load_model  # noqa: E402
from neurodeploy.description.io import write_atomically  # noqa: E402
from neurodeploy.runs.rundir import write_json_atomically  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASES = {"rewiring+stdp": True, "stdp": False}
FORWARD = "S->P"


def run_case(
    case: str,
    backend: str,
    duration_ms: float,
    lateral_inhibition: bool,
    conductance: bool,
    snapshot_ms: float,
    seed: int,
):
    """One case's run: the initial and final feedforward synapses, snapshots, spike count, wall time."""
    model = load_model(
        "topographic-map",
        {
            "duration_ms": duration_ms,
            "rewiring": CASES[case],
            "seed": seed,
            "lateral_inhibition": lateral_inhibition,
            "conductance": conductance,
            "snapshot_every_ms": snapshot_ms,
        },
    )
    network = model.network
    initial = network.connections(FORWARD)
    started = time.time()
    last = [0.0]

    def progress(fraction):
        if fraction - last[0] >= 0.05 or fraction >= 1.0:
            last[0] = fraction
            print(f"  {case}: {fraction:4.0%} after {time.time() - started:5.0f} s", flush=True)

    result = make_backend(backend).run(network, duration_ms, progress=progress)
    final = result.weights[FORWARD]
    snapshots = (result.structural or {}).get("connectivity", {}).get(FORWARD, {})
    return {
        "initial": {"pre": initial.pre, "post": initial.post},
        "final": {"pre": final["pre"], "post": final["post"], "weight": final["weight"]},
        "snapshots": {
            int(tick): np.asarray(pairs).reshape(-1, 2) for tick, pairs in snapshots.items() if tick != "end"
        },
        "spikes": int(sum(len(t) for t in result.spikes.ticks("P"))),
        "events": {label: len(events) for label, events in (result.structural or {}).get("events", {}).items()},
        "wall_s": time.time() - started,
    }


def measure(module, runs: dict, n: int) -> dict:
    rows = {"initial": module.refinement(runs["stdp"]["initial"]["pre"], runs["stdp"]["initial"]["post"], None, n)}
    for case, run in runs.items():
        final = run["final"]
        rows[f"{case} by connections"] = module.refinement(final["pre"], final["post"], None, n)
        rows[f"{case} by weights"] = module.refinement(final["pre"], final["post"], final["weight"], n)
    return rows


def table(rows: dict, published: dict) -> str:
    lines = [f"{'receptive fields':<34} {'sigma_aff':>9} {'AD':>6}   Bogdan et al. 2018 sigma_aff"]
    for name, row in rows.items():
        theirs = published.get(name.split(" by ")[0], {}).get("sigma_aff")
        lines.append(f"{name:<34} {row['sigma_aff']:9.3f} {row['AD']:6.3f}   {'' if theirs is None else theirs}")
    return "\n".join(lines)


def plot(module, runs: dict, rows: dict, n: int, unit: str, path: Path):
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    snapshots = runs["rewiring+stdp"]["snapshots"]
    if snapshots:
        ticks = sorted(snapshots)
        spread = [module.refinement(snapshots[t][:, 0], snapshots[t][:, 1], None, n)["sigma_aff"] for t in ticks]
        axes[0].plot(
            [0] + [t / 1000 for t in ticks],
            [rows["initial"]["sigma_aff"]] + spread,
            marker=".",
            label="rewiring+stdp, by connections",
        )
    axes[0].axhline(rows["stdp by weights"]["sigma_aff"], color="grey", linestyle="--", label="stdp, by weights (end)")
    axes[0].set_xlabel("simulated time (s)")
    axes[0].set_ylabel("mean receptive-field spread sigma_aff")
    axes[0].legend()
    for axis, case in zip(axes[1:], CASES):
        final = runs[case]["final"]
        field = np.zeros((n, n))
        own = np.divmod(final["post"], n)
        place = np.divmod(final["pre"], n)
        offset = [((p - o + n // 2) % n) for p, o in zip(place, own)]  # each field centred on its neuron
        np.add.at(field, (offset[0], offset[1]), final["weight"])
        axis.imshow(field / (n * n), cmap="viridis")
        axis.set_title(f"{case}: mean forward field, by weights ({unit})")
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png"))
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration-ms", type=float, default=300000.0)
    parser.add_argument("--backend", default="brian2")
    parser.add_argument("--lateral-inhibition", action="store_true")
    parser.add_argument("--conductance", action="store_true", help="IF_cond_exp neurons, as Bogdan et al.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "scripts" / "results"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    snapshot_ms = max(1.0, round(args.duration_ms / 20))
    with ProcessPoolExecutor(max_workers=min(len(CASES), os.cpu_count() or 1)) as pool:
        futures = {
            case: pool.submit(
                run_case,
                case,
                args.backend,
                args.duration_ms,
                args.lateral_inhibition,
                args.conductance,
                snapshot_ms,
                args.seed,
            )
            for case in CASES
        }
        runs = {case: future.result() for case, future in futures.items()}
    module = load_model("topographic-map", {"duration_ms": 1}).family.module
    n = 16
    rows = measure(module, runs, n)
    published = module.PUBLISHED if not args.lateral_inhibition else {}
    print(
        f"topographic-map on {args.backend}, {args.duration_ms / 1000:g} s, seed {args.seed}"
        f"{', lateral inhibition' if args.lateral_inhibition else ''}"
        f"{', conductance-based' if args.conductance else ''}"
    )
    print(table(rows, published))
    for case, run in runs.items():
        print(
            f"{case}: {run['spikes'] / (n * n) / (args.duration_ms / 1000):.1f} Hz mean rate, "
            f"events {run['events']}, {run['wall_s']:.0f} s wall"
        )
    refined = rows["rewiring+stdp by connections"]["sigma_aff"] < rows["stdp by weights"]["sigma_aff"]
    print(f"rewiring refines the map beyond STDP alone: {refined}")
    stem = (
        "topographic_map"
        + ("_inhibition" if args.lateral_inhibition else "")
        + ("_conductance" if args.conductance else "")
    )
    write_json_atomically(
        out / f"{stem}.json",
        {
            "backend": args.backend,
            "duration_ms": args.duration_ms,
            "seed": args.seed,
            "lateral_inhibition": args.lateral_inhibition,
            "conductance": args.conductance,
            "published": published,
            "rewiring_refines": refined,
            "measures": {name: {"sigma_aff": row["sigma_aff"], "AD": row["AD"]} for name, row in rows.items()},
            "runs": {
                case: {"spikes": run["spikes"], "events": run["events"], "wall_s": run["wall_s"]}
                for case, run in runs.items()
            },
        },
    )
    plot(module, runs, rows, n, "uS" if args.conductance else "nA", out / f"{stem}.png")
    print(f"results: {out / stem}.json, .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
