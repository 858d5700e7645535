#!/usr/bin/env python
"""A network compiled by neurodeploy for SpiNNaker, as a plain PyNN script for sPyNNaker 7.x.

It needs only pyNN, sPyNNaker and numpy, and reads graph.json and connections.npz beside it:

    python pynn_script.py --duration 90 --spikes spikes.json [--mapping mapping.json]

sPyNNaker finds the board in its own configuration (~/.spynnaker.cfg: machine_name, spalloc_server,
or virtual_board = True to map without running). ``--spikes`` writes the recorded spikes in
neurodeploy's spikes.json form (not on a virtual board, which simulates nothing); ``--mapping``
writes placements, SDRAM per core, routing-table sizes and the ring-buffer shifts sPyNNaker chose.
"""

import argparse
import json
import os
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def _synapse(sim, projection, dt):
    values = {} if projection["weight"] is None else {"weight": projection["weight"], "delay": projection["delay"]}
    rule, structural = projection["stdp"], projection["structural"]
    plasticity = {}
    if rule is not None:
        dependence = (
            sim.AdditiveWeightDependence
            if rule["weight_dependence"] == "additive"
            else sim.MultiplicativeWeightDependence
        )
        plasticity = {
            "timing_dependence": sim.SpikePairRule(
                tau_plus=rule["tau_plus"], tau_minus=rule["tau_minus"], A_plus=rule["A_plus"], A_minus=rule["A_minus"]
            ),
            "weight_dependence": dependence(w_min=rule["w_min"], w_max=rule["w_max"]),
        }
    if structural is not None:
        mechanism = sim.StructuralMechanismSTDP if rule is not None else sim.StructuralMechanismStatic
        selection = (
            sim.LastNeuronSelection() if structural["partner_selection"] == "last_neuron" else sim.RandomSelection()
        )
        formation = sim.DistanceDependentFormation(
            grid=structural["grid"],
            p_form_forward=structural["p_form_forward"],
            sigma_form_forward=structural["sigma_form_forward"],
            p_form_lateral=structural["p_form_lateral"],
            sigma_form_lateral=structural["sigma_form_lateral"],
        )
        elimination = sim.RandomByWeightElimination(
            threshold=structural["weight_threshold"],
            prob_elim_depressed=structural["p_elim_dep"],
            prob_elim_potentiated=structural["p_elim_pot"],
        )
        return mechanism(
            partner_selection=selection,
            formation=formation,
            elimination=elimination,
            f_rew=structural["f_rew"],
            initial_weight=structural["initial_weight"],
            initial_delay=dt,
            s_max=structural["s_max"],
            with_replacement=False,
            seed=structural["seed"],
            **plasticity,
            **values,
        )
    if rule is None:
        return sim.StaticSynapse(**values)
    return sim.STDPMechanism(**plasticity, **values)


def build(sim, directory=HERE):
    """Set up sPyNNaker and create the populations and projections; returns the graph and both, by label."""
    graph = json.loads((pathlib.Path(directory) / "graph.json").read_text())
    arrays = np.load(pathlib.Path(directory) / "connections.npz")
    sim.setup(timestep=graph["dt"])
    populations = {}
    for spec in graph["populations"]:
        if spec["model"] == "SpikeSourceArray":
            times = spec["parameters"]["spike_times"]
            # sPyNNaker 7.4.1 fails on lists that are all empty (its spike-density check); [] means none.
            cell = sim.SpikeSourceArray(spike_times=times if any(times) else [])
        else:
            cell = getattr(sim, spec["model"])(**spec["parameters"])
        population = sim.Population(spec["size"], cell, label=spec["label"])
        if spec["initial_v"] is not None:
            population.initialize(v=spec["initial_v"])
        if spec["record"]:
            population.record(spec["record"])
        populations[spec["label"]] = population
    for spec in graph.get("current_sources", []):
        population = populations[spec["population"]]
        target = population if spec["neurons"] is None else population[spec["neurons"]]
        target.inject(getattr(sim, spec["kind"])(**spec["parameters"]))
    projections = {}
    for spec in graph["projections"]:
        if spec["connector"] == "FromListConnector":
            rows = arrays[graph["from_list_keys"][spec["label"]]]
            # sPyNNaker 7.4.1 cannot size an empty list that carries weight columns
            connector = (
                sim.FromListConnector(rows, column_names=["weight", "delay"])
                if len(rows)
                else sim.FromListConnector([])
            )
        elif spec["connector"] == "OneToOneConnector":
            connector = sim.OneToOneConnector()
        else:
            connector = sim.AllToAllConnector(allow_self_connections=spec["allow_self_connections"])
        projections[spec["label"]] = sim.Projection(
            populations[spec["pre"]],
            populations[spec["post"]],
            connector,
            synapse_type=_synapse(sim, spec, graph["dt"]),
            receptor_type=spec["receptor"],
            label=spec["label"],
        )
    return graph, populations, projections


def spikes_document(graph, populations, duration):
    """The recorded spikes in neurodeploy's spikes.json form."""
    document = {"dt_ms": graph["dt"], "duration_ms": duration, "backend": "spinnaker-board", "populations": {}}
    for label, population in populations.items():
        if "spikes" not in population.get_recording_variables():
            continue
        trains = population.get_data("spikes").segments[0].spiketrains
        document["populations"][label] = {
            "size": population.size,
            "spike_times_ms": [np.round(np.asarray(t.magnitude, float), 9).tolist() for t in trains],
        }
    return document


def mapping_document(populations, duration, dt):
    """Where sPyNNaker put everything, from its own data view (its reports folder relative to the working
    folder, so that the folder can be moved)."""
    from spynnaker.pyNN.data import SpynnakerDataView

    timesteps = int(round(duration / dt))
    placements = []
    for placement in SpynnakerDataView.iterate_placemements():
        vertex = placement.vertex
        application = getattr(vertex, "app_vertex", None)
        label = application.label if application is not None else None
        placements.append(
            {
                "chip": [placement.x, placement.y],
                "core": placement.p,
                "vertex": vertex.label,
                "population": label if label in populations else None,
                "sdram_bytes": int(vertex.sdram_required.get_total_sdram(timesteps)),
            }
        )
    tables = SpynnakerDataView.get_uncompressed().routing_tables
    shifts = {
        label: [int(s) for s in population._vertex.get_ring_buffer_shifts()]
        for label, population in populations.items()
        if hasattr(population._vertex, "get_ring_buffer_shifts")
    }
    return {
        "placements": placements,
        "routing_tables": [{"chip": [t.x, t.y], "entries": t.number_of_entries} for t in tables],
        "ring_buffer_shifts": shifts,
        "reports": os.path.relpath(SpynnakerDataView.get_run_dir_path()),
        "chips": SpynnakerDataView.get_machine().n_chips,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, required=True, help="simulated time in ms")
    parser.add_argument("--spikes", help="write recorded spikes here (JSON)")
    parser.add_argument("--mapping", help="write the mapping here (JSON)")
    args = parser.parse_args()
    import pyNN.spiNNaker as sim

    graph, populations, _ = build(sim)
    sim.run(args.duration)
    if args.mapping:
        mapping = mapping_document(populations, args.duration, graph["dt"])
        pathlib.Path(args.mapping).write_text(json.dumps(mapping, indent=1))
    if args.spikes:
        pathlib.Path(args.spikes).write_text(json.dumps(spikes_document(graph, populations, args.duration)))
    sim.end()


if __name__ == "__main__":
    main()
