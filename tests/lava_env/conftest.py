"""Tests of the Lava processes themselves, run by ``make test`` inside the Lava environment (Python 3.10,
lava-nc), the only place Lava can be imported; the main suite reaches Lava through the worker."""
