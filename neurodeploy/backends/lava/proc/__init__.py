"""Lava Processes written for neurodeploy, laid out like lava.proc: process.py (interface) and models.py
(numerics, tag fixed_pt)."""
