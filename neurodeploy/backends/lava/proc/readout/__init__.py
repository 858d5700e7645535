"""Recorders that hand results to the host through external pipes (see process.py)."""
