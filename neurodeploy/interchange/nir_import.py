"""Reading a NIR graph (neuromorphs/NIR) as a network.

The neurodeploy metadata a graph may carry (written by the export, read here as defaults):

- the graph's ``metadata[METADATA_KEY]``: a mapping with any of ``GRAPH_FIELDS``: the semantics block's
  fields as :meth:`Semantics.to_dict` writes them (``dt`` in ms), and the network's ``name``, ``seed``
  and ``duration`` (ms). Command-line options win over them.
- a spiking node's ``metadata[METADATA_KEY]``: a mapping with any of ``NODE_FIELDS``: ``cell_type`` (the
  cell type the node was exported from; it must be the one the node imports as), ``parameters`` and
  ``initial_values`` (names and units of the cell type, as ``Population.to_dict`` writes them, e.g.
  ``tau_refrac``, ``i_offset``). They replace the cell's fields the node gives, after the weights are
  converted (weights are converted with the node's own NIR values).

Every edge is one tick of delay; a ``Delay`` node adds its own.
"""

from __future__ import annotations

from neurodeploy.description.semantics import Semantics

METADATA_KEY = "neurodeploy"
GRAPH_FIELDS = (*Semantics.FIELDS, "name", "seed", "duration")
NODE_FIELDS = ("cell_type", "parameters", "initial_values")
