"""Conformance with ground truth nobody here wrote (``../shared/external/``, peers' published test values)."""
