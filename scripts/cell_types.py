"""The feed-forward benchmark (200 neurons, 100 Poisson sources at 10 Hz) with each cell type added
through the per-backend registries, deployed to spinn5 and loihi2: the share of spikes in the same tick
as each target's quantization-aware reference, and what quantization costs against the float reference.

    .venv/bin/python scripts/cell_types.py [--duration-ms 5000] [--out scripts/results]

Writes cell_types.json to ``--out``; each deploy's folder goes to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurodeploy.runs.compare import compare  # noqa: E402
from neurodeploy.runs.deployment import comparison  # noqa: E402
from neurodeploy.runs.rundir import read_run  # noqa: E402

# Parameters that make each cell type fire at a few tens of Hz on the benchmark's input.
CELL_TYPES = {
    "IF_curr_delta": {"w_low": 2.0, "w_high": 4.0, "i_offset": 0.2},
    "Izhikevich": {"w_low": 1.0, "w_high": 3.0, "i_offset": 5.0},
}
TARGETS = ("spinn5", "loihi2")


def deploy(cell_type: str, parameters: dict, target: str, duration_ms: float, folder: Path) -> dict:
    """One ``neurodeploy deploy`` and the numbers of its verdict for the benchmark's neurons."""
    out = folder / f"{cell_type}-{target}"
    command = [
        sys.executable,
        "-m",
        "neurodeploy",
        "deploy",
        "feedforward-poisson",
        "--target",
        target,
        "--param",
        f"cell_type={cell_type}",
        *[f"--param={k}={v}" for k, v in parameters.items()],
        "--duration",
        str(duration_ms),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"deploy failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads((out / "deploy.json").read_text())
    target_side = comparison(report, "correctness")["spikes"]["populations"]["neurons"]
    # What quantization costs, on the reference side: the quantization-aware reference against the float one.
    cost = compare(read_run(out / target / "reference").spikes, read_run(out / "reference-float").spikes)
    cost = cost.populations["neurons"]
    return {
        "cell_type": cell_type,
        "target": target,
        "parameters": parameters,
        "duration_ms": duration_ms,
        "passed": report["passed"],
        "spikes": target_side["run_spikes"],
        "reference_spikes": target_side["reference_spikes"],
        "same_tick_vs_reference": target_side["same_tick_fraction"],
        "within_one_vs_reference": target_side["within_one_fraction"],
        "reference_same_tick_vs_float": cost.same_tick_fraction,
        "reference_within_one_vs_float": cost.within_one_fraction,
        "wall_s": time.perf_counter() - started,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-ms", type=float, default=5000.0)
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runs = [
            deploy(cell_type, parameters, target, args.duration_ms, Path(folder))
            for cell_type, parameters in CELL_TYPES.items()
            for target in TARGETS
        ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cell_types.json").write_text(
        json.dumps({"model": "feedforward-poisson", "runs": runs}, indent=1) + "\n"
    )
    for run in runs:
        print(
            f"{run['cell_type']:<14} {run['target']:<7} spikes {run['spikes']:>6}  same tick vs its reference "
            f"{run['same_tick_vs_reference']:.2%}  reference vs float {run['reference_same_tick_vs_float']:.2%}"
        )


if __name__ == "__main__":
    main()
