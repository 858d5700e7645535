"""Run directories and comparisons: how commands write runs and read them back (what a run holds is
``neurodeploy.results``)."""
