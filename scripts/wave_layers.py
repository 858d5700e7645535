"""Grow ``wave-layers`` and measure it: waves per sheet (size, duration, speed, rate; a frame strip and a
raster), receptive-field locality and pooling radius after growth against the no-STDP control (same
seed: same noise, same initial weights), the no-lateral control (no waves), and the pooling radius
over three wave radii. Runs go in parallel, one per process.

    .venv/bin/python scripts/wave_layers.py [--backend brian2] [--n 16] [--sizes 16,12] [--layers 2]
        [--duration-ms 20000] [--r-e 2] [--radii 1.5,2,3] [--locality-radius 3] [--seed 1] [--jobs 2]
        [--out scripts/results]

On the reference the default takes a few minutes (two cores). Writes wave_layers[_<backend>].json
and .png to ``--out``. For a wave radius ``r_e`` the inhibition reaches ``2.5 r_e`` and the lateral
weights are scaled so that each neuron's summed excitation and inhibition stay those of the default
radius (a wider wave, not a more excitable sheet), counted on the first sheet. ``--sizes`` gives each
sheet its own side, bottom first (``--layers`` defaults to their number); unset, every sheet is ``--n``.
"""

from __future__ import annotations

import argparse
import inspect
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
from neurodeploy.errors import ValidationError  # noqa: E402
from neurodeploy.models import wave_layers as model  # noqa: E402
from neurodeploy.runs.rundir import write_json_atomically  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {name: p.default for name, p in inspect.signature(model.build).parameters.items()}
INHIBITION_REACH = DEFAULTS["r_i"] / DEFAULTS["r_e"]
SMALLEST_WAVE = 5  # neurons: a group of fewer spikes counts as noise, not a wave
STRIP_FRAMES, STRIP_BIN = 12, 3  # frames of the strip, ticks per frame


def neighbours(n: int, low: float, high: float) -> int:
    """How many places lie at a distance in (low, high] of a place (periodic sheet)."""
    d = model.distances(n, True)[0]
    return int(((d > low) & (d <= high)).sum())


def radius_parameters(n: int, r_e: float) -> dict:
    """The lateral wiring for wave radius ``r_e``, its summed weights those of the default radius."""
    r_i = INHIBITION_REACH * r_e
    exc = DEFAULTS["w_exc"] * neighbours(n, 0, DEFAULTS["r_e"]) / neighbours(n, 0, r_e)
    inh = DEFAULTS["w_inh"] * neighbours(n, DEFAULTS["r_e"], DEFAULTS["r_i"]) / neighbours(n, r_e, r_i)
    return {"r_e": r_e, "r_i": r_i, "w_exc": exc, "w_inh": inh}


def sides(parameters: dict) -> dict[str, int]:
    """Each sheet's side by label."""
    found = model.sheet_sizes(parameters["layers"], parameters["n"], parameters.get("sizes"), "the parameters")
    return {f"L{k}": side for k, side in enumerate(found, start=1)}


def run_case(backend: str, parameters: dict) -> dict:
    """One growth run: the spikes of every sheet and the feed-forward weights before and after."""
    network = load_model("wave-layers", parameters).network
    started = time.perf_counter()
    result = make_backend(backend).run(network, parameters["duration_ms"])
    seconds = time.perf_counter() - started
    spikes = {k: [t.astype(int) for t in result.spikes.ticks(k)] for k in network.populations}
    weights, side = {}, sides(parameters)
    for label, projection in network.projections.items():
        if projection.pre.startswith("L") and projection.post != projection.pre:  # the feed-forward ones
            final = result.weights.get(label)
            connections = network.connections(label)
            weights[label] = {
                "pre": connections.pre,
                "post": connections.post,
                "initial": np.broadcast_to(projection.weight, connections.pre.shape).astype(float),
                "final": None if final is None else np.asarray(final["weight"], dtype=float),
                "w_max": parameters.get("w_max", DEFAULTS["w_max"]),
                "n_pre": side[projection.pre],
                "n_post": side[projection.post],
            }
    return {"parameters": parameters, "spikes": spikes, "weights": weights, "seconds": seconds}


def wave_statistics(trains, n: int, r_e: float, ticks: int) -> dict:
    found = model.waves(trains, n, True, max(r_e, 1.5))
    big = found["size"] >= SMALLEST_WAVE
    return {
        "waves_per_s": float(big.sum() / (ticks / 1000.0)),
        "mean_size": float(found["size"][big].mean()) if big.any() else 0.0,
        "largest": int(found["size"].max()) if len(found["size"]) else 0,
        "mean_duration_ms": float(found["duration"][big].mean()) if big.any() else 0.0,
        "mean_speed_cells_per_ms": float(found["speed"][big].mean()) if big.any() else 0.0,
        "rate_hz": float(sum(len(t) for t in trains) / len(trains) / (ticks / 1000.0)),
    }


def fields_of(weights: dict, which: str) -> np.ndarray:
    return model.receptive_fields(weights["pre"], weights["post"], weights[which], weights["n_pre"], weights["n_post"])


def field_statistics(weights: dict, which: str, radius: float) -> dict:
    field = fields_of(weights, which)
    centre = model.centres(field, True)
    return {
        "locality": float(model.locality(field, radius, True).mean()),
        "chance_locality": model.chance_locality(weights["n_pre"], radius, True),
        "pooling_radius": float(model.pooling_radius(field, True).mean()),
        "pooled_inputs": float(model.pooled_area(field, weights["w_max"] / 2).mean()),
        "coverage": model.coverage(centre, weights["n_pre"], radius, True),
    }


def measure(run: dict, radius: float) -> dict:
    p = run["parameters"]
    ticks, side = int(p["duration_ms"]), sides(p)
    layers = {
        label: wave_statistics(trains, side[label], p["r_e"], ticks)
        for label, trains in run["spikes"].items()
        if label.startswith("L")
    }
    activity = [model.population_activity(run["spikes"][f"L{k}"], ticks) for k in range(1, p["layers"] + 1)]
    propagation = {}
    for k in range(1, p["layers"]):
        lags = range(0, 16)
        follows = model.lagged_correlation(activity[k - 1], activity[k], lags)
        shuffled = model.lagged_correlation(activity[k - 1], np.roll(activity[k], ticks // 3), lags)
        propagation[f"L{k}->L{k + 1}"] = {
            "peak_correlation": float(follows.max()),
            "lag_ms": int(np.argmax(follows)),
            "shuffled_peak": float(shuffled.max()),
        }
    fields = {}
    for label, weights in run["weights"].items():
        fields[label] = {"initial": field_statistics(weights, "initial", radius)}
        if weights["final"] is not None:
            fields[label]["final"] = field_statistics(weights, "final", radius)
    return {"layers": layers, "propagation": propagation, "fields": fields, "seconds": run["seconds"]}


def strongest_wave_start(trains, n: int, r_e: float, within: int) -> int:
    """The first tick of the largest wave in the first ``within`` ticks."""
    early = [t[t < within] for t in trains]
    found = model.waves(early, n, True, max(r_e, 1.5))
    return int(found["start"][np.argmax(found["size"])]) if len(found["size"]) else 0


def plot(runs: dict, measured: dict, path: Path, title: str):
    main, control = runs["stdp"], runs["no-stdp"]
    p = main["parameters"]
    side, layers = sides(p), p["layers"]
    figure = plt.figure(figsize=(15, 1.5 * layers + 6.5), layout="constrained")
    grid = figure.add_gridspec(layers + 2, STRIP_FRAMES, height_ratios=[1] * layers + [3, 1.2])
    start = max(0, strongest_wave_start(main["spikes"]["L1"], side["L1"], p["r_e"], 2000) - STRIP_BIN)
    for k in range(1, layers + 1):
        n = side[f"L{k}"]
        frames = np.zeros((STRIP_FRAMES, n * n))
        for neuron, train in enumerate(main["spikes"][f"L{k}"]):
            hit = (train[(train >= start) & (train < start + STRIP_FRAMES * STRIP_BIN)] - start) // STRIP_BIN
            frames[hit, neuron] = 1
        for i in range(STRIP_FRAMES):
            axis = figure.add_subplot(grid[k - 1, i])
            axis.imshow(frames[i].reshape(n, n), cmap="gray_r", vmin=0, vmax=1)
            axis.set_xticks([]), axis.set_yticks([])
            if k == 1:
                axis.set_title(f"{start + i * STRIP_BIN}-{start + (i + 1) * STRIP_BIN - 1} ms", fontsize=7)
            if i == 0:
                axis.set_ylabel(f"L{k}")
    raster = figure.add_subplot(grid[layers, : STRIP_FRAMES // 2])
    window = (max(0, start - 100), start + 200)
    below = 0  # the neurons of the sheets drawn under this one, and a gap of 10 after each
    for k in range(1, layers + 1):
        for neuron, train in enumerate(main["spikes"][f"L{k}"]):
            shown = train[(train >= window[0]) & (train < window[1])]
            raster.plot(shown, np.full(len(shown), below + neuron), "|", ms=2, color=f"C{k - 1}")
        below += side[f"L{k}"] ** 2 + 10
    raster.set_xlabel("ms"), raster.set_ylabel("neuron (L1 below, L2 above)")
    raster.set_title("spikes during growth (STDP run)")
    sweep = figure.add_subplot(grid[layers, STRIP_FRAMES // 2 :])
    radii = sorted(measured["radii"], key=float)
    forward = "L1->L2"
    for which, style in (("final", "o-"), ("initial", "s--")):
        sweep.plot(
            [float(r) for r in radii],
            [measured["radii"][r]["fields"][forward][which]["pooling_radius"] for r in radii],
            style,
            label=f"RMS radius above the median weight, {'after growth' if which == 'final' else 'initial'}",
        )
    sweep.plot(
        [float(r) for r in radii],
        [np.sqrt(measured["radii"][r]["fields"][forward]["final"]["pooled_inputs"] / np.pi) for r in radii],
        "D-",
        label="after growth, radius of a disc of the inputs above w_max/2",
    )
    sweep.plot(
        [float(r) for r in radii],
        [np.sqrt(measured["radii"][r]["layers"]["L1"]["mean_size"] / np.pi) for r in radii],
        "^:",
        label="L1 wave, radius of a disc of its size",
    )
    sweep.set_xlabel("excitation radius r_e (grid units)"), sweep.set_ylabel("grid units")
    sweep.legend(fontsize=8)
    weights = main["weights"][forward]
    shown_units = np.linspace(0, side["L2"] ** 2 - 1, STRIP_FRAMES // 2).astype(int)
    for column, (name, run) in enumerate((("STDP", main), ("no STDP", control))):
        w = run["weights"][forward]
        field = fields_of(w, "final" if w["final"] is not None else "initial")
        for i, unit in enumerate(shown_units):
            axis = figure.add_subplot(grid[layers + 1, column * (STRIP_FRAMES // 2) + i])
            axis.imshow(field[unit], cmap="viridis", vmin=0, vmax=weights["initial"].max() * 2)
            axis.set_xticks([]), axis.set_yticks([])
            axis.set_title(f"{name}: unit {unit}", fontsize=7)
    figure.suptitle(title)
    write_atomically(path, lambda handle: figure.savefig(handle, dpi=80, format="png"))
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="brian2")
    parser.add_argument("--n", type=int, default=DEFAULTS["n"])
    parser.add_argument("--sizes", default="", help="each sheet's side, bottom first (e.g. 16,12); unset: --n")
    parser.add_argument("--layers", type=int, help="the number of sheets (default: of --sizes, else 2)")
    parser.add_argument("--duration-ms", type=float, default=DEFAULTS["duration_ms"])
    parser.add_argument("--r-e", type=float, default=DEFAULTS["r_e"], help="the wave radius of the main cases")
    parser.add_argument("--radii", default="1.5,2,3")
    parser.add_argument("--locality-radius", type=float, default=3.0, help="the locality measure's disc")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "results")
    args = parser.parse_args()
    try:
        sizes = [int(size) for size in args.sizes.split(",")] if args.sizes.strip() else []
    except ValueError:
        parser.error(f"--sizes: whole sides separated by commas (e.g. 16,12), got {args.sizes!r}")
    layers = args.layers or len(sizes) or DEFAULTS["layers"]
    if layers < 2:
        parser.error("the measures need at least two sheets (a feed-forward projection): --layers or --sizes")
    try:  # before any run: a bad size would otherwise fail inside every worker
        model.sheet_sizes(layers, args.n, sizes, "option --sizes")
    except ValidationError as error:
        parser.error(str(error))
    base = {"n": args.n, "layers": layers, "duration_ms": args.duration_ms, "seed": args.seed}
    if sizes:
        base["sizes"] = sizes
    first = sizes[0] if sizes else args.n
    base |= radius_parameters(first, args.r_e)
    cases = {
        "stdp": base,
        "no-stdp": {**base, "stdp": False},
        "no-lateral": {**base, "lateral": False},
    }
    radii = [r.strip() for r in args.radii.split(",")]
    for radius in radii:
        cases[f"r_e={radius}"] = {**base, **radius_parameters(first, float(radius))}
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {name: pool.submit(run_case, args.backend, parameters) for name, parameters in cases.items()}
        runs = {name: future.result() for name, future in futures.items()}
    measured = {name: measure(run, args.locality_radius) for name, run in runs.items() if not name.startswith("r_e=")}
    measured["radii"] = {r: measure(runs[f"r_e={r}"], args.locality_radius) for r in radii}
    document = {
        "backend": args.backend,
        "parameters": {name: parameters for name, parameters in cases.items()},
        "locality_radius": args.locality_radius,
        "chance_locality": {
            label: fields["initial"]["chance_locality"] for label, fields in measured["stdp"]["fields"].items()
        },
        "smallest_wave": SMALLEST_WAVE,
        "measured": measured,
    }
    suffix = "" if args.backend == "brian2" else f"_{args.backend}"
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(args.out / f"wave_layers{suffix}.json", document)
    shape = f"sheets {','.join(map(str, sizes))}" if sizes else f"n={args.n}"
    plot(runs, measured, args.out / f"wave_layers{suffix}.png", f"wave-layers on {args.backend}, {shape}")
    for name in ("stdp", "no-stdp", "no-lateral"):
        m = measured[name]
        waves = ", ".join(
            f"{label}: {s['waves_per_s']:.0f} waves/s of {s['mean_size']:.1f} neurons, "
            f"{s['mean_duration_ms']:.1f} ms, {s['mean_speed_cells_per_ms']:.2f} cells/ms"
            for label, s in m["layers"].items()
        )
        fields = ", ".join(
            f"{label} locality {f.get('final', f['initial'])['locality']:.3f} (initial {f['initial']['locality']:.3f})"
            for label, f in m["fields"].items()
        )
        print(f"{name}: {waves}; {fields}")
    for radius in radii:
        f = measured["radii"][radius]["fields"]["L1->L2"]
        print(
            f"r_e={radius}: L1 waves of {measured['radii'][radius]['layers']['L1']['mean_size']:.1f} neurons; "
            f"RMS field radius {f['initial']['pooling_radius']:.2f} -> {f['final']['pooling_radius']:.2f}, "
            f"{f['final']['pooled_inputs']:.1f} inputs above w_max/2, locality {f['final']['locality']:.3f}"
        )
    print("chance locality " + ", ".join(f"{label} {c:.3f}" for label, c in document["chance_locality"].items()))


if __name__ == "__main__":
    main()
