"""Join: the process that connects unconnected parts of a graph for the compile (see process.py)."""
