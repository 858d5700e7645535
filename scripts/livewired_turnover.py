"""Run livewired-assoc with neuron turnover on the new-patterns protocol and plot, per epoch, the
dormant ratio and the number of alive neurons of A and B; print the recall answers per backend and
whether the backends made the same structural decisions.

    .venv/bin/python scripts/livewired_turnover.py [--backends brian2 spinnaker lava] [--out scripts/results]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neurodeploy.backends import make_backend  # noqa: E402
from neurodeploy.catalog import MODELS, load_model  # noqa: E402
from neurodeploy.description.io import write_atomically  # noqa: E402
from neurodeploy.pipeline import apply_protocol  # noqa: E402
from neurodeploy.runs.rundir import write_json_atomically  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = MODELS / "protocols" / "livewired-assoc-new-patterns.json"


def plot(turnover: dict, path: Path):
    figure, (ratio_axis, count_axis) = plt.subplots(2, 1, sharex=True, figsize=(7, 5))
    for (label, epochs), style in zip(turnover.items(), ({"marker": "o"}, {"marker": "x", "linestyle": "--"})):
        ticks = [epoch["tick"] for epoch in epochs]
        ratio_axis.plot(ticks, [epoch["dormant_ratio"] for epoch in epochs], label=label, **style)
        count_axis.step(ticks, [epoch["alive_after"] for epoch in epochs], where="post", label=label, **style)
    ratio_axis.set_ylabel("dormant ratio (DrM)")
    count_axis.set_ylabel("alive neurons")
    count_axis.set_xlabel("epoch end (ms)")
    ratio_axis.legend()
    ratio_axis.set_title("livewired-assoc: patterns 2, 3 unused (pruned), then arriving (recruited)")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100, format="png"))
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["brian2", "spinnaker", "lava"])
    parser.add_argument("--out", default=str(ROOT / "scripts" / "results"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    documents = {}
    for backend in args.backends:
        model = load_model("livewired-assoc", {"turnover": True})
        run = apply_protocol(model, PROTOCOL)
        result = make_backend(backend).run(model.network, model.network.duration)
        answers = run.decode(model, result)
        documents[backend] = {"answers": answers, "structural": result.structural}
        summary = answers["summary"]
        print(f"{backend:<10} recalls agreeing with an ideal memory: {summary['agree']}/{summary['recalls']}")
    first = documents[args.backends[0]]
    same = all(d["structural"] == first["structural"] for d in documents.values())
    print(f"same formation, elimination, pruning and recruitment on {', '.join(args.backends)}: {same}")
    turnover = first["structural"]["turnover"]
    for label, epochs in turnover.items():
        print(
            f"{label}: "
            + "  ".join(f"{e['tick']} ms DrM {e['dormant_ratio']:.2f} alive {e['alive_after']}" for e in epochs)
        )
    plot(turnover, out / "livewired_turnover.png")
    write_json_atomically(out / "livewired_turnover.json", {"same_decisions": same, "turnover": turnover})
    print(f"plot: {out / 'livewired_turnover.png'}")


if __name__ == "__main__":
    main()
