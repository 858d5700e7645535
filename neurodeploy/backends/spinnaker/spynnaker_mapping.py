"""Where sPyNNaker put a network, from its own data view: the compiled pynn_script.py imports this file
(copied beside it) after its run when given ``--mapping FILE``. It needs only sPyNNaker."""

import json
import os
import pathlib


def mapping_document(populations, duration, dt):
    """Placements, SDRAM per core, routing-table sizes and the ring-buffer shifts sPyNNaker chose (its
    reports folder relative to the working folder, so that the folder can be moved)."""
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


def write_mapping(path, populations, duration, dt):
    """``mapping_document`` of ``populations`` (PyNN populations) as JSON at ``path``."""
    document = mapping_document({population.label: population for population in populations}, duration, dt)
    pathlib.Path(path).write_text(json.dumps(document, indent=1))
