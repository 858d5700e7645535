"""Run folders that never lose a file and are never seen half-written.

``--out`` stays a real folder (a user's symlink given as ``--out`` is followed, never replaced). neurodeploy
keeps its output in a hidden store inside it and shows it through one relative link per entry it wrote:

    OUT/manifest.json -> .neurodeploy/current/manifest.json   (each entry neurodeploy wrote, as a link)
    OUT/notes.md                                              (a user's file: never moved or deleted)
    OUT/.neurodeploy/current -> version-...                   (the one link a new run swaps)
    OUT/.neurodeploy/version-.../.neurodeploy-run.json        (the marker: the command and every file it wrote)
    OUT/.neurodeploy/lock                                     (flock: one writer at a time)

Why this shape:

- A new run is written into a fresh version folder and published by one ``rename`` of a link over
  ``current``: a reader of ``OUT/manifest.json`` finds the old complete run or the new one, never none. A kill
  at any point leaves one complete run in place; what it left half-written is removed by the next writer.
- Only a folder that is new, empty, or holds the store is written; any other folder (one with a
  ``manifest.json`` is named as written by hand or by an older neurodeploy) is refused. Within it only the
  entries named in the marker are replaced: files a user adds beside them stay where they are, and files
  added inside a folder neurodeploy wrote (``compile/``) are hard-linked into the new version before the
  swap. A user's entry whose name a run needs is refused, not replaced: before the run for the names the
  command always writes, at the swap for the others.
- The previous version is removed by the next writer, not at the swap: resolving ``OUT/manifest.json`` is
  several steps, and a reader that passed ``current`` just before a swap must still find the files it was
  resolving. So at rest the store holds the current run and the one before it.
- Nothing neurodeploy did not write is deleted. A user can still write into the previous version after the
  swap (a shell whose working folder is ``OUT/compile`` stays in the version it resolved to; a file written
  during the swap): before removing that version, the next writer hard-links such files into the current one
  at the same path. The marker records, by inode, what the swap carried over, so a user's later deletion or
  rewrite of a carried file is not undone. If a different file of the same name is already there, the old
  version folder is kept (under ``.neurodeploy/``) rather than either file lost.
- ``--out .`` and an existing empty folder work like any other: the folder itself is never renamed. Links
  are relative, so a run folder can be moved, copied or archived whole.
- A second writer to the same folder is refused at once (exit 2, naming the holder's pid) rather than made
  to wait: a deploy can hold the lock for minutes, and a silent wait looks like a hang. Adding a document
  (``compare``) holds it for milliseconds, so such a write waits a few seconds before it is refused. The lock
  also proves that no live process owns a leftover version folder, so the next writer removes them.
- The version folder of a run that failed in its backend (not on bad input) is kept until the next run into
  the folder, so that the logs an error message names (``spinn5/compile/spynnaker.log``) can still be read.

A run holds ``manifest.json`` and ``spikes.json``, and when recorded, ``traces.npz`` (``LABEL.v``: ticks x
neurons) and ``weights.npz`` (final weights of plastic projections: ``LABEL.pre``, ``LABEL.post``,
``LABEL.weight``), plus any extra JSON documents a command adds.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurodeploy import __version__
from neurodeploy.description import io
from neurodeploy.description.io import new_file, write_atomically
from neurodeploy.errors import NeurodeployError, ValidationError
from neurodeploy.results import RunResult, SpikeRecord

MANIFEST = "manifest.json"
SPIKES = "spikes.json"
STORE = ".neurodeploy"
MARKER = ".neurodeploy-run.json"
CURRENT = "current"
LOCK = "lock"
VERSION = "version-"
OUTPUTS = (MANIFEST, "compile.json", "deploy.json")
"""What an older neurodeploy wrote into a run folder (which has no store)."""
DOCUMENT_LOCK_WAIT_S = 10.0
"""How long adding a document (compare.json) waits for another writer: such writes take milliseconds,
so only a run holds the lock longer."""


def write_json_atomically(path: Path, data) -> None:
    write_atomically(path, lambda temporary: Path(temporary).write_text(_json_text(data)))


@contextlib.contextmanager
def staged_directory(out: Path, command: str, writes: tuple[str, ...] = ()):
    """Yield an empty folder (an absolute path) for the output of ``command``; on success it becomes what
    ``out`` shows, in one rename; on failure ``out`` is left as it was. Refuses, before anything runs, a
    folder neurodeploy did not write, the output of another command, a folder another run is writing, and a
    user's entry named like one of ``writes`` (the entries the command always writes; any other clash is
    refused when the output is published)."""
    out = Path(out)
    existed = _check_writable(out)
    lock = _lock(out)
    staging = None
    try:
        _tidy(out)
        previous = _marker(out / STORE / CURRENT)
        if previous is not None and previous.get("command") != command:
            raise ValidationError(
                "option --out",
                None,
                f"'{out}' holds the output of `neurodeploy "
                f"{previous.get('command')}`, not of `{command}`: choose another folder",
            )
        for name in writes:
            _refuse_users_entry(out, name)
        staging = _new_version(out / STORE)
        yield staging
        _publish(out, staging, command)
    except BaseException as error:
        if staging is not None and _current_version(out / STORE) != staging.name:
            kept_for_logs = (
                isinstance(error, NeurodeployError)
                and not isinstance(error, ValidationError)
                and any(staging.iterdir())
            )
            if not kept_for_logs:
                shutil.rmtree(staging, ignore_errors=True)
        _remove_unused_store(out, existed)
        raise
    finally:
        _unlock(lock)


def write_run_files(directory: Path, manifest: dict, result: RunResult, documents: dict | None = None) -> None:
    """The files of a run directory, into an existing (staging) folder. The manifest goes last: a manifest
    that records the stages of its run (``stages``) gets the time the other files took as ``write``."""
    started = time.perf_counter()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_spikes(directory / SPIKES, result.spikes)
    for name, data in (documents or {}).items():
        _write_json(directory / name, data)
    if result.structural is not None:
        _write_json(directory / "structural.json", result.structural)
    if result.traces:
        np.savez_compressed(
            directory / "traces.npz",
            **{
                f"{label}.{variable}": array
                for label, variables in result.traces.items()
                for variable, array in variables.items()
            },
        )
    if result.weights:
        np.savez_compressed(
            directory / "weights.npz",
            **{f"{label}.{key}": array for label, arrays in result.weights.items() for key, array in arrays.items()},
        )
    if isinstance(manifest.get("stages"), dict):
        manifest["stages"]["write"] = round(time.perf_counter() - started, 3)
    _write_json(directory / MANIFEST, manifest)


def write_run(out: Path, manifest: dict, result: RunResult, documents: dict | None = None) -> Path:
    """Write a complete run directory at ``out``, replacing an earlier run there."""
    with staged_directory(out, "run", (MANIFEST, SPIKES, *(documents or {}))) as staging:
        write_run_files(staging, manifest, result, documents)
    return Path(out)


def write_spikes(path: Path, spikes: SpikeRecord) -> None:
    """``spikes.to_dict()`` as JSON, written piece by piece into a temporary file renamed into place."""

    def write(temporary):
        with open(temporary, "w") as handle:
            handle.writelines(spikes.json_pieces())

    write_atomically(path, write)


def _write_json(path: Path, data) -> None:
    with open(path, "w") as handle:  # dumps, not dump: only a one-shot encoding runs json's C encoder
        handle.write(json.dumps(data, indent=1) + "\n")


def _check_writable(out: Path) -> bool:
    """Whether ``out`` exists; refuses what is not a new, empty or neurodeploy-written folder."""
    if out.is_symlink() and not out.exists():
        raise ValidationError(
            "option --out",
            None,
            f"'{out}' is a link to '{os.readlink(out)}', which does "
            "not exist: create that folder or give another --out",
        )
    if not out.exists():
        return False
    if not out.is_dir():
        raise ValidationError("option --out", None, f"'{out}' is a file, not a folder")
    store = out / STORE
    try:
        entries = sorted(os.listdir(out))
    except OSError as error:
        raise ValidationError("option --out", None, f"cannot read '{out}': {error.strerror}") from None
    # Listed first, then the store looked at: a first run making the store in between is then seen.
    if store.is_dir() and not store.is_symlink():
        return True
    older = next((name for name in OUTPUTS if name in entries), None)
    if older is not None:
        raise ValidationError(
            "option --out",
            None,
            f"'{out}' holds a {older} but no {STORE} store: written by "
            "hand or by an older neurodeploy; move it away or give a new folder",
        )
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise ValidationError(
            "option --out",
            None,
            f"'{out}' is a folder neurodeploy did not write (it holds {shown}): give a new or empty folder",
        )
    return True


_held_locks: set[int] = set()


def _forget_inherited_locks() -> None:
    """A forked child (a Lava worker) shares its parent's flock: close its copy so that a child left behind
    does not keep ``--out`` locked after its parent has gone."""
    for descriptor in _held_locks:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _held_locks.clear()


os.register_at_fork(after_in_child=_forget_inherited_locks)


def _unlock(descriptor: int) -> None:
    _held_locks.discard(descriptor)
    os.close(descriptor)


def _lock(out: Path, wait_s: float = 0.0) -> int:
    """An exclusive flock on ``out``'s store (created, with ``out``, if absent), refused if held longer than
    ``wait_s``."""
    store = out / STORE
    path = store / LOCK
    deadline = time.monotonic() + wait_s
    attempts = 0
    while True:
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # also a parent that is gone (a deleted working folder)
            raise ValidationError("option --out", None, f"cannot write '{out}': {error.strerror}") from None
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            attempts += 1
            if attempts < 100:
                continue  # a failed first run removed the store in between: make it again
            raise ValidationError("option --out", None, f"cannot write '{out}': it keeps disappearing") from None
        except OSError as error:
            raise ValidationError("option --out", None, f"cannot write '{out}': {error.strerror}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() < deadline:
                os.close(descriptor)
                time.sleep(0.05)
                continue
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise ValidationError(
                "option --out",
                None,
                f"'{out}' is being written by another neurodeploy "
                f"(pid {holder}): wait for it to finish or choose another folder",
            ) from None
        try:
            current = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            current = False
        if current:  # not a lock file that its holder removed before we locked it
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
            _held_locks.add(descriptor)
            return descriptor
        os.close(descriptor)


def _current_version(store: Path) -> str | None:
    try:
        return os.readlink(store / CURRENT)
    except FileNotFoundError:
        return None


def _marker(version: Path) -> dict | None:
    """A version's marker; None where there is none. A damaged one is refused: what it protects is unknown."""
    try:
        marker = json.loads((version / MARKER).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as error:
        raise ValidationError(
            f"run folder store '{version}'",
            MARKER,
            f"cannot be read ({error}): neurodeploy cannot tell which files it wrote; move the folder away",
        ) from None
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), list):
        raise ValidationError(
            f"run folder store '{version}'",
            MARKER,
            "is damaged: neurodeploy cannot tell which files it wrote; move the folder away",
        )
    return marker


def _new_version(store: Path) -> Path:
    while True:
        version = store / f"{VERSION}{secrets.token_hex(6)}"
        try:
            version.mkdir()
        except FileExistsError:
            continue
        return version.absolute()


def _link_target(name: str) -> str:
    return f"{STORE}/{CURRENT}/{name}"


def _is_ours(out: Path, name: str) -> bool:
    """Whether ``out/name`` is a link neurodeploy made (only those are ever replaced or removed)."""
    path = out / name
    return path.is_symlink() and os.readlink(path) == _link_target(name)


def _tidy(out: Path) -> None:
    """Under the lock, before writing: remove every version but the current one (the previous run, what a
    killed or failed writer left) and the links a killed writer left half-made. A version that was shown
    first gives the current one every file a user added to it after it was replaced; it is kept if one of
    them cannot be carried over (a different file of the same name is there)."""
    store = out / STORE
    current = _current_version(store)
    for entry in os.listdir(store):
        if entry in (LOCK, CURRENT, current):
            continue
        path = store / entry
        if path.is_dir() and not path.is_symlink():
            if current is None or _rescue_users_files(path, store / current):
                shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if current is not None:
        _link_entries(out, store / current)  # a folder rescued into it shows in ``out`` too
    _remove_stale_links(out)


def _link_entries(out: Path, version: Path) -> None:
    """A link in ``out`` to each top-level entry of ``version`` that has none (a user's entry is left alone)."""
    for name in sorted(os.listdir(version)):
        if name != MARKER and not os.path.lexists(out / name):
            os.symlink(_link_target(name), out / name)


def _rescue_users_files(version: Path, current: Path) -> bool:
    """Hard-link into ``current`` the files a user added to ``version`` that the run which replaced it did not
    carry over (written through a shell whose working folder was ``OUT/compile`` when it still resolved into
    ``version``, or written while that run was publishing); never overwrites. Whether ``version`` holds no
    file of a user that ``current`` lacks, so that it can be removed."""
    marker = _marker(version)
    shown = _marker(current) or {}
    if marker is None or marker.get("previous") == current.name:
        return True  # never shown (a run cut short, or one that failed): only neurodeploy wrote into it
    # What the run that replaced ``version`` carried over, by inode: a user's later change there (even a
    # deletion, or an editor's save by rename) is theirs to keep. Of an older version, nothing is known.
    taken = shown.get("carried", {}) if shown.get("previous") == version.name else {}
    ours = set(marker.get("files", ())) | set(marker.get("folders", ())) | {MARKER}
    files, folders = _written(version)
    removable = True
    for relative in folders + files:  # a folder before the files in it
        source = version / relative
        if relative in ours or taken.get(relative) == os.lstat(source).st_ino:
            continue
        target = current / relative
        try:
            if relative in folders:
                target.mkdir(parents=True, exist_ok=True)
            elif not os.path.lexists(target):
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(source, target)
            elif os.lstat(target).st_ino != os.lstat(source).st_ino:
                removable = False  # a different file of that name: keep both
        except OSError:  # a user's file where this one's folder would go
            removable = False
    return removable


def _remove_stale_links(out: Path) -> None:
    """Links to entries the current version does not have."""
    try:
        shown = set(os.listdir(out / STORE / CURRENT)) - {MARKER}
    except FileNotFoundError:  # no run published yet (or its version was deleted by hand)
        shown = set()
    for name in os.listdir(out):
        if name not in shown and _is_ours(out, name):
            (out / name).unlink()


def _written(version: Path) -> tuple[list[str], list[str]]:
    """Every file and folder under ``version``, as relative paths."""
    files, folders = [], []
    for root, directories, names in os.walk(version):
        relative = Path(root).relative_to(version)
        for name in list(directories):
            if (Path(root) / name).is_symlink():
                directories.remove(name)
                names.append(name)
            else:
                folders.append((relative / name).as_posix())
        files += [(relative / name).as_posix() for name in names]
    return sorted(files), sorted(folders)


def _publish(out: Path, staging: Path, command: str) -> None:
    """Make ``staging`` the version ``out`` shows, in one rename, keeping every file a user added."""
    store = out / STORE
    names = sorted(os.listdir(staging))
    for name in names:
        _refuse_users_entry(out, name)
    files, folders = _written(staging)
    previous = _current_version(store)
    carried = _carry_over(store / previous, staging, out) if previous is not None else {}
    write_json_atomically(
        staging / MARKER,
        {
            "command": command,
            "neurodeploy": __version__,
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "files": files,
            "folders": folders,
            "previous": previous,
            "carried": carried,
        },
    )
    _link_entries(out, staging)  # the run's own entries and what was carried over into the version
    swap = store / f"{CURRENT}.{staging.name}"
    os.symlink(staging.name, swap)
    os.replace(swap, store / CURRENT)
    _remove_stale_links(out)  # the previous version stays until the next writer: see the module's docstring


def _refuse_users_entry(out: Path, name: str) -> None:
    if os.path.lexists(out / name) and not _is_ours(out, name):
        raise ValidationError(
            "option --out",
            None,
            f"'{out / name}' was not written by neurodeploy but this run "
            "writes an entry of that name: move it away and run again",
        )


def _carry_over(previous: Path, staging: Path, out: Path) -> dict[str, int]:
    """Hard-link into ``staging`` every file a user added inside the previous version's folders; return what
    was carried (relative path: inode in ``previous``), for ``_rescue_users_files``."""
    marker = _marker(previous) or {}
    ours = set(marker.get("files", ())) | set(marker.get("folders", ())) | {MARKER}
    files, folders = _written(previous)
    carried = {}
    for relative in folders:
        if relative not in ours:
            (staging / relative).mkdir(parents=True, exist_ok=True)
            carried[relative] = os.lstat(previous / relative).st_ino
    for relative in files:
        if relative in ours:
            continue
        if os.path.lexists(staging / relative):
            raise ValidationError(
                "option --out",
                None,
                f"'{out / relative}' was added by a user but this run "
                "writes a file of that name: move it away and run again",
            )
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        carried[relative] = os.lstat(previous / relative).st_ino
        _link_or_copy(previous / relative, staging / relative)
    return carried


def _link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy where links cannot be made); never over a file."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EMLINK, errno.EXDEV, errno.EOPNOTSUPP):
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        shutil.copy2(source, target, follow_symlinks=False)


def _remove_unused_store(out: Path, existed: bool) -> None:
    """After a failed first run: leave ``out`` as it was found (absent or empty) unless something is kept."""
    store = out / STORE
    if set(os.listdir(store)) != {LOCK}:
        return
    (store / LOCK).unlink()
    try:
        store.rmdir()
        if not existed:
            out.rmdir()
    except OSError:  # another first run into ``out`` has just made its lock: the store is its now
        pass


@dataclass(eq=False)
class Run:
    """A run directory read back."""

    path: Path
    manifest: dict
    spikes: SpikeRecord
    folder: Path | None = None
    """Where the files were read (``path`` with links resolved once, so both come from one version)."""

    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        """The recorded traces (``traces.npz``) per population and variable; none when nothing was recorded."""
        path = (self.folder or self.path) / "traces.npz"
        if not path.is_file():
            return {}
        traces = {}
        with np.load(path) as arrays:
            for key in arrays.files:
                label, _, variable = key.rpartition(".")
                traces.setdefault(label, {})[variable] = arrays[key]
        return traces

    @property
    def recording(self) -> str:
        """The recording convention its traces follow (the backend's details; the end of the tick before)."""
        backend = self.manifest.get("backend")
        return backend.get("recording", "end_of_tick") if isinstance(backend, dict) else "end_of_tick"

    def weights(self) -> dict[str, dict[str, np.ndarray]]:
        """The final weights of its plastic projections (``weights.npz``): ``LABEL: {pre, post, weight}``."""
        path = (self.folder or self.path) / "weights.npz"
        if not path.is_file():
            return {}
        weights = {}
        with np.load(path) as arrays:
            for key in arrays.files:
                label, _, name = key.rpartition(".")
                weights.setdefault(label, {})[name] = arrays[key]
        return weights

    def document(self, name: str):
        """A JSON document of the run (structural.json, answers.json), None where it has none."""
        path = (self.folder or self.path) / name
        if not path.is_file():
            return None
        return io.parse(io.decode(path.read_bytes(), str(self.path / name)), "json", str(self.path / name))

    def comparable(self):
        """What comparing reads of this run (``runs.compare.RunData``)."""
        from neurodeploy.runs.compare import RunData

        return RunData.of(
            self.spikes,
            self.manifest,
            self.traces(),
            self.weights(),
            self.document("structural.json"),
            self.document("answers.json"),
        )


def read_run(path) -> Run:
    path = Path(path)
    where = f"run directory '{path}'"
    for _ in range(10):
        folder = Path(os.path.realpath(path / MANIFEST)).parent  # both files from one version
        try:
            manifest_bytes, spikes_bytes = ((folder / name).read_bytes() for name in (MANIFEST, SPIKES))
        except OSError as error:
            if Path(os.path.realpath(path / MANIFEST)).parent != folder:
                continue  # a rerun published a new version and removed this one while it was read
            for name in (MANIFEST, SPIKES):
                if not (folder / name).is_file():
                    raise ValidationError(where, None, f"has no {name} (is it the --out of a run?)") from None
            raise ValidationError(where, None, f"cannot read: {error.strerror}") from None
        return Run(
            path,
            _manifest(manifest_bytes, f"{path / MANIFEST}"),
            SpikeRecord.from_dict(
                io.parse(io.decode(spikes_bytes, f"{path / SPIKES}"), "json", f"{path / SPIKES}"), f"{path / SPIKES}"
            ),
            folder,
        )
    raise NeurodeployError(f"{where} was rewritten faster than it could be read: read it again")


def _manifest(data: bytes, origin: str) -> dict:
    """A run's manifest, checked for what ``compare`` reads from it."""
    manifest = io.parse(io.decode(data, origin), "json", origin)
    if not isinstance(manifest, dict):
        raise ValidationError(origin, None, "expected a JSON object (a run's manifest)")
    if not isinstance(manifest.get("model"), dict) or not isinstance(manifest["model"].get("name"), str):
        raise ValidationError(origin, "model", "expected an object with the model's name")
    sources = manifest.get("spike_sources", [])
    if not isinstance(sources, list) or not all(isinstance(label, str) for label in sources):
        raise ValidationError(origin, "spike_sources", "expected a list of labels")
    return manifest


def _write_through_store(store: Path, path: Path, text: str) -> None:
    """Write ``path``, inside a published version, by renaming a temporary file made in ``store``: a kill leaves
    that file where the next writer removes it, not inside the version where it would be kept as a user's."""
    handle, temporary = new_file(store, "writing-")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


def _json_text(data) -> str:
    return json.dumps(data, indent=1) + "\n"


def write_document(run: Run, name: str, data, is_earlier=lambda document: False) -> Path | None:
    """Add a JSON document (compare.json) to a run read by ``read_run``, as a file neurodeploy wrote: into
    the version that was read, named in its marker, so the next run into the folder replaces it. Returns
    None, writing nothing, where a user's file of that name is: in a folder without a marker (written by hand
    or by an older neurodeploy) that is any file ``is_earlier`` (given the parsed JSON) does not recognise
    as an earlier document of this kind."""

    return write_file(run.path, run.folder, name, _json_text(data), _parsed(is_earlier))


def document_file(data, is_earlier=lambda document: False) -> tuple:
    """A JSON document as :func:`write_files` takes it: its text and the test of an earlier one's bytes."""
    return _json_text(data), _parsed(is_earlier)


def _parsed(is_earlier):
    """``is_earlier`` of a parsed JSON document, as a test of a file's bytes."""

    def recognised(content: bytes) -> bool:
        try:
            return bool(is_earlier(json.loads(content)))
        except ValueError:  # not UTF-8, not JSON
            return False

    return recognised


def write_file(path: Path, folder: Path | None, name: str, text: str, is_earlier=lambda content: False) -> Path | None:
    """Add a file ``name`` holding ``text`` to the folder ``path`` (a run or deploy folder; ``folder``: where
    its files were read, see ``Run.folder``), as ``write_document`` adds a document; ``is_earlier`` is given
    the bytes of a file of that name in a folder without a marker."""
    return None if write_files(path, folder, {name: (text, is_earlier)}) else Path(path) / name


def write_files(path: Path, folder: Path | None, files: dict) -> str | None:
    """Add several files (name -> (text, is_earlier)) to the folder ``path`` as :func:`write_file` adds one,
    all or none: where one of them is a user's file nothing is written and its name is returned (else None).
    Every text is written to a temporary file before any is renamed into place, so a failure while writing
    (a full disk) leaves every earlier file as it was: files that belong together (deploy.json and the report
    made of it) are never left one new and one old by it."""
    folder = folder or Path(os.path.realpath(path))
    version = next(
        (parent for parent in (folder, *folder.parents) if parent.parent.name == STORE and (parent / MARKER).is_file()),
        None,
    )
    if version is None:
        targets = {name: Path(path) / name for name in files}
        for name, target in targets.items():
            if os.path.lexists(target) and not _holds_earlier(target, files[name][1]):
                return name
        _rename_all({targets[name]: text for name, (text, _) in files.items()}, lambda target: target.parent)
        return None
    out = version.parent.parent
    relative = {name: (folder / name).relative_to(version).as_posix() for name in files}
    lock = _lock(out, DOCUMENT_LOCK_WAIT_S)
    try:
        if _current_version(out / STORE) != version.name:
            raise NeurodeployError(f"folder '{path}' was rewritten while it was read: run the command again")
        marker = _marker(version)
        for name, inside in relative.items():
            if (
                inside == name
                and os.path.lexists(out / name)
                and not _is_ours(out, name)
                or os.path.lexists(version / inside)
                and inside not in marker["files"]
            ):
                return name
        marker["files"] = sorted(set(marker["files"]) | set(relative.values()))
        _write_through_store(out / STORE, version / MARKER, _json_text(marker))  # first: never a file it does not name
        _rename_all({version / relative[name]: text for name, (text, _) in files.items()}, lambda target: out / STORE)
        for name, inside in relative.items():
            if inside == name and not os.path.lexists(out / name):
                os.symlink(_link_target(name), out / name)
    finally:
        _unlock(lock)
    return None


def _rename_all(texts: dict[Path, str], temporary_folder) -> None:
    """Write each text to a temporary file (in ``temporary_folder(target)``), then rename them all into place."""
    written = {}
    try:
        for target, text in texts.items():
            handle, written[target] = new_file(temporary_folder(target), f".{target.name}.")
            with os.fdopen(handle, "w") as stream:
                stream.write(text)
        for target, temporary in written.items():
            os.replace(temporary, target)
    finally:
        for temporary in written.values():
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)


def _holds_earlier(path: Path, is_earlier) -> bool:
    """Whether ``path`` is a regular file whose bytes ``is_earlier`` recognises."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        return bool(is_earlier(path.read_bytes()))
    except OSError:
        return False
