"""Spike records, run directories and comparisons: what every backend produces and every command reads."""
