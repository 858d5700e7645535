"""The NIR paper's Braille recurrent SNN (two NIR graphs: biases with reset to zero, no biases with reset
by subtraction) imported and run on every backend, its hidden layer (``lif1.lif``) compared with the
rasters snnTorch, Norse and lava-dl recorded for the same input sample (``../shared/external/
nir-paper-braille-srnn``): entries that differ from snnTorch's after the import's one-tick latency, and
the cosine similarity of mean rates, the paper's measure.

    .venv/bin/python scripts/nir_braille.py [--shared ../shared] [--out scripts/results]

Writes nir_braille.json to ``--out``; each run's folder goes to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DT_MS = 0.1
GRAPHS = {"bias_zero": "to_v_reset", "noBias_subtract": "subtract"}
BACKENDS = ("brian2", "spinnaker", "lava")
HIDDEN = "lif1.lif"
LATENCY_TICKS = 1  # input -> fc1 -> lif1.lif is one edge: one tick later than snnTorch's same-step stack


def stimulus(folder: Path, shared: Path) -> Path:
    """The sample's 0/1 input (steps x taxels) as spike times of the graph's Input node."""
    taxels = np.load(shared / "derived_input_sample0.npy")
    times = [[round(float(step) * DT_MS, 6) for step in np.flatnonzero(taxels[:, channel])] for channel in range(12)]
    path = folder / "braille_input.json"
    path.write_text(json.dumps({"input": times}))
    return path


def hidden_raster(run: Path, steps: int) -> np.ndarray:
    """The hidden layer's spikes as (steps, neurons) 0/1, shifted back by the import's latency."""
    record = json.loads((run / "spikes.json").read_text())["populations"][HIDDEN]
    raster = np.zeros((steps, record["size"]), dtype=np.int64)
    for neuron, times in enumerate(record["spike_times_ms"]):
        ticks = np.rint(np.asarray(times) / DT_MS).astype(np.int64) - LATENCY_TICKS
        raster[ticks[(ticks >= 0) & (ticks < steps)], neuron] = 1
    return raster


def cosine_of_mean_rates(a: np.ndarray, b: np.ndarray) -> float:
    rates_a, rates_b = a.astype(np.float64).mean(axis=0), b.astype(np.float64).mean(axis=0)
    return float(rates_a @ rates_b / (np.linalg.norm(rates_a) * np.linalg.norm(rates_b)))


def peers(shared: Path, graph: str) -> dict[str, np.ndarray]:
    """The recorded rasters of other platforms for ``graph``, as (steps, neurons)."""
    found = {"snnTorch": np.load(shared / f"snntorch_activity_noDelay_{graph}.npy")}
    for name, stored_transposed in (("Norse", False), ("lava-dl", True)):
        path = shared / f"{name.lower().replace('-dl', '')}_activity_noDelay_{graph}.npy"
        if path.is_file():
            raster = np.load(path)
            found[name] = raster.T if stored_transposed else raster
    return found


def run(graph: str, reset: str, backend: str, stimulus_file: Path, steps: int, shared: Path, folder: Path) -> Path:
    out = folder / f"{graph}-{backend}"
    command = [
        sys.executable,
        "-m",
        "neurodeploy",
        "run",
        str(shared / f"braille_noDelay_{graph}.nir"),
        "--dt",
        str(DT_MS),
        "--discretization",
        "euler",
        "--reset",
        reset,
        "--stimulus",
        str(stimulus_file),
        "--duration",
        f"{(steps + LATENCY_TICKS) * DT_MS:g}",
        "--backend",
        backend,
        "--out",
        str(out),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "results")
    args = parser.parse_args()
    shared = args.shared.resolve() / "external" / "nir-paper-braille-srnn"
    results = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        stimulus_file = stimulus(folder, shared)
        for graph, reset in GRAPHS.items():
            recorded = peers(shared, graph)
            steps = recorded["snnTorch"].shape[0]
            rasters = {
                backend: hidden_raster(run(graph, reset, backend, stimulus_file, steps, shared, folder), steps)
                for backend in BACKENDS
            }
            snntorch = recorded["snnTorch"]
            results[graph] = {
                "reset": reset,
                "peers": {
                    peer: {
                        "spikes": int(raster.sum()),
                        **{
                            f"cosine_vs_{other}": cosine_of_mean_rates(raster, theirs)
                            for other, theirs in recorded.items()
                        },
                    }
                    for peer, raster in recorded.items()
                },
                "backends": {
                    backend: {
                        "spikes": int(raster.sum()),
                        "entries_differing_from_snntorch": int(np.count_nonzero(raster != snntorch)),
                        **{
                            f"cosine_vs_{peer}": cosine_of_mean_rates(raster, peer_raster)
                            for peer, peer_raster in recorded.items()
                        },
                    }
                    for backend, raster in rasters.items()
                },
            }
            print(json.dumps({graph: results[graph]}, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nir_braille.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
