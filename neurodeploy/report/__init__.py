"""report.html: one self-contained page (inline SVG, no script, nothing fetched) that shows what a run, a
comparison or a deploy found, drawn with matplotlib from the folder's files alone.

``write_report(folder)`` writes ``folder/report.html`` and returns its path; ``neurodeploy report DIR`` calls
it, and so does deploy at its end. What a folder holds is read in one place (:mod:`.layout`); the page is
built in :mod:`.page`, its figures in :mod:`.figures`, imported when a page is drawn: matplotlib takes about a
second to import, which a `run` that writes no report does not pay.
"""

from __future__ import annotations

import os
from pathlib import Path

from neurodeploy.errors import NeurodeployError, ValidationError
from neurodeploy.report.layout import deploy_study, read_folder
from neurodeploy.runs.deployment import DOCUMENT, REPORT
from neurodeploy.runs.rundir import MANIFEST, document_file, write_file, write_files

__all__ = ["REPORT", "render_report", "rewrite_deploy", "write_report"]


def render_report(folder) -> str:
    """The report page of a run, compare or deploy folder, as text."""
    from neurodeploy.report.page import render

    return render(read_folder(folder))


def write_report(folder, shown_as=None) -> Path:
    """Write ``folder/report.html`` (atomically; in a folder neurodeploy wrote, as one of its files, so that
    the next run into it replaces the page) and return its path. A report.html that neurodeploy did not
    write is refused, not replaced. ``shown_as`` is the folder's name on the page where it is not ``folder``
    (deploy writes the report into the folder it then publishes)."""
    from neurodeploy.report.page import render

    folder = Path(folder)
    study = read_folder(folder)
    if shown_as is not None:
        study.path = Path(shown_as)
    text = render(study)
    read_from = Path(os.path.realpath(folder / (DOCUMENT if study.kind == "deploy" else MANIFEST))).parent
    written = write_file(folder, read_from, REPORT, text, _is_report)
    if written is None:
        raise _refused_report(folder)
    return written


def rewrite_deploy(folder, read_from: Path, document: dict, is_earlier) -> None:
    """Rewrite the deploy folder ``folder``'s deploy.json as ``document`` (into the version ``read_from`` of the
    folder, see ``runs.rundir.write_files``; ``is_earlier`` recognises a deploy.json it may replace) and its
    report.html made of it, together: the page is made before either is written, and both are written before
    either is renamed into place, so a failure leaves the old pair. Neither is written where a user's
    report.html or deploy.json is."""
    from neurodeploy.report.page import render

    folder = Path(folder)
    text = render(deploy_study(folder, document))
    refused = write_files(
        folder, read_from, {REPORT: (text, _is_report), DOCUMENT: document_file(document, is_earlier)}
    )
    if refused == REPORT:
        raise _refused_report(folder)
    if refused == DOCUMENT:
        raise NeurodeployError(f"'{folder / DOCUMENT}' is not a file neurodeploy wrote: not rewritten")


def _refused_report(folder: Path) -> ValidationError:
    return ValidationError(
        f"'{folder / REPORT}'", None, "was not written by neurodeploy: move it away to write the report"
    )


def _is_report(content: bytes) -> bool:
    """Whether a file's bytes are a report neurodeploy wrote (its generator tag in the head)."""
    from neurodeploy.report.page import GENERATOR

    return f'<meta name="generator" content="{GENERATOR}'.encode() in content[:2000]
