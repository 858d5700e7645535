"""The sPyBlocks SpiNNaker rasters (``../shared/external/spyblocks-spinnaker``), read from their xlsx files with
the standard library: the input rows become the ``spyblocks`` family's stimulus, the block rows its expectation."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

RECORDINGS = Path(__file__).resolve().parent.parent.parent / "shared" / "external" / "spyblocks-spinnaker"
SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

FILES = {
    "simple_and": "neural_and/test_simple_and.xlsx",
    "multiple_and": "neural_and/test_multiple_and.xlsx",
    "simple_not": "neural_not/test_simple_not.xlsx",
    "multiple_not": "neural_not/test_multiple_not.xlsx",
    "multiple_or": "neural_or/test_multiple_or.xlsx",
    "simple_latch_sr": "neural_latch_sr/test_simple_latch_sr.xlsx",
    "multiple_latch_sr": "neural_latch_sr/test_multiple_latch_sr.xlsx",
    "simple_xor": "neural_xor/test_simple_xor.xlsx",
    "multiple_xor": "neural_xor/test_multiple_xor.xlsx",
    "simple_sync_oscillator": "neural_oscillator/test_simple_sync_oscillator.xlsx",
    "multiple_sync_oscillator": "neural_oscillator/test_multiple_sync_oscillator.xlsx",
    "simple_async_oscillator": "neural_oscillator/test_simple_async_oscillator.xlsx",
    "multiple_async_oscillator": "neural_oscillator/test_multiple_async_oscillator.xlsx",
    "simple_flank_detector": "neural_flank_detector/test_simple_flank_detector.xlsx",
    "simple_decoder": "neural_decoder/test_simple_decoder.xlsx",
    "simple_encoder": "neural_encoder/test_simple_encoder.xlsx",
    "simple_encoder_short": "neural_encoder/test_simple_encoder_short.xlsx",
    "simple_latch_d": "neural_latch_d/test_simple_latch_d.xlsx",
    "multiple_latch_d": "neural_latch_d/test_multiple_latch_d.xlsx",
    "multiple_latch_d_short": "neural_latch_d/test_multiple_latch_d_short.xlsx",
    "simple_memory": "neural_memory/test_simple_memory.xlsx",
    "memory_stress_1": "neural_memory/test_memory_stress_1.xlsx",
    "memory_stress_1_mini": "neural_memory/test_memory_stress_1_mini.xlsx",
    "simple_muxdemux": "neural_muxdemux/test_simple_muxdemux.xlsx",
}
"""The 24 recorded rasters, by the test script's name without ``test_``."""

VALUE_ROWS = ("OUTPUT", "CHANNEL", "Channel (", "Register ")
"""Rows (labels starting so) the scripts write with ``printRow`` (a value per ms, not spikes); the async
oscillators' OUTPUT is ``printSpikes`` and is read as spikes."""


@dataclass
class Raster:
    duration_ms: float
    rows: dict[str, list[int]]
    """Row label -> the ms in which it spiked."""
    values: dict[str, dict[int, str]]
    """Value row label -> its non-empty values by ms."""


def _column(reference: str) -> int:
    number = 0
    for letter in re.match(r"[A-Z]+", reference).group():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def read_raster(path: Path, spike_rows_named_output: bool = False) -> Raster:
    """Sheet1 (and any further sheets the trace writer starts every 1023 ms) as row label -> spike ms."""
    with zipfile.ZipFile(path) as book:
        shared = [
            "".join(t.text or "" for t in item.iter(f"{SHEET}t"))
            for item in ET.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{SHEET}si")
        ]
        sheets = sorted(name for name in book.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name))
        rows: dict[str, list[int]] = {}
        values: dict[str, dict[int, str]] = {}
        duration = 0
        for sheet in sorted(sheets, key=lambda name: int(re.search(r"(\d+)\.xml", name).group(1))):
            cells = {}
            for row in ET.fromstring(book.read(sheet)).iter(f"{SHEET}row"):
                for cell in row.iter(f"{SHEET}c"):
                    value = cell.find(f"{SHEET}v")
                    if value is None:
                        continue
                    text = shared[int(value.text)] if cell.get("t") == "s" else value.text
                    cells[(int(row.get("r")), _column(cell.get("r")))] = text
            times = {col: int(float(text)) for (r, col), text in cells.items() if r == 1 and col > 0}
            duration = max(duration, max(times.values()) + 1)
            labels = {r: text for (r, col), text in cells.items() if r > 1 and col == 0}
            for r, label in labels.items():
                if label.startswith(VALUE_ROWS) and not spike_rows_named_output:
                    row_values = values.setdefault(label, {})
                    row_values.update({times[col]: text for (rr, col), text in cells.items() if rr == r and col > 0})
                    for ms in [ms for ms, text in row_values.items() if not text]:
                        del row_values[ms]
                    continue
                spikes = [times[col] for (rr, col), text in cells.items() if rr == r and col > 0 and text == "1"]
                rows.setdefault(label, []).extend(spikes)
    return Raster(float(duration), {label: sorted(ticks) for label, ticks in rows.items()}, values)


def recorded(circuit: str) -> Raster:
    return read_raster(RECORDINGS / FILES[circuit], spike_rows_named_output="async" in circuit)
