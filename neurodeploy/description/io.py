"""Save and load networks as JSON or YAML, with exact round trip (floats are written as repr)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import yaml

from neurodeploy.description.network import Network
from neurodeploy.errors import ValidationError

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
NESTING_LIMIT = 100
"""The deepest nesting of lists and mappings a file may have. A description needs a handful of levels; the
parsers' own limits are no bound to rely on (Python 3.10's JSON reader refuses a thousand, 3.13's reads
thousands)."""


def _format_of(path: Path) -> str:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValidationError(f"file '{path}'", None, "expected a .json, .yaml or .yml file") from None


def new_file(folder: Path, prefix: str) -> tuple[int, str]:
    """A new file in ``folder`` (a descriptor open for writing, and its path), to be renamed into place. Made
    with the mode a plain ``open()`` gives (0666 less the umask), not ``tempfile.mkstemp``'s 0600: the rename
    keeps the mode, and colleagues sharing a machine read each other's results."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        path = os.path.join(folder, f"{prefix}{secrets.token_hex(6)}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue


def write_atomically(path: Path, write) -> None:
    """Write ``path`` through ``write(temporary_path)`` beside it, then rename: never half-written."""
    path = Path(path)
    handle, temporary = new_file(path.parent, f".{path.name}.")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def dumps(network: Network, fmt: str = "json") -> str:
    data = network.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=1) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


def save(network: Network, path) -> Path:
    path = Path(path)
    text = dumps(network, _format_of(path))
    write_atomically(path, lambda temporary: Path(temporary).write_text(text))
    return path


def parse(text: str, fmt: str, origin: str):
    """Parsed JSON/YAML data; a syntax error, nesting deeper than ``NESTING_LIMIT`` or than the parser
    handles, or an integer too long to convert becomes a ValidationError naming ``origin``."""
    too_deep = ValidationError(origin, None, f"not readable {fmt.upper()}: nested too deeply")
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValidationError(origin, None, f"not valid {fmt.upper()}: {_first_line(error)}") from None
    except RecursionError:
        raise too_deep from None
    except ValueError as error:  # Python's limit on the digits of an integer
        raise ValidationError(origin, None, f"not readable {fmt.upper()}: {_first_line(error)}") from None
    if _nested_deeper_than(data, NESTING_LIMIT):
        raise too_deep
    return data


def _nested_deeper_than(data, limit: int) -> bool:
    """Whether lists and mappings in ``data`` nest more than ``limit`` deep (walked level by level, as
    recursion would reach Python's own limit first)."""
    containers = (list, dict)
    level = [data] if isinstance(data, containers) else []
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, containers)
        ]
        if not level:
            return False
    return True


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def read_text(path, origin: str) -> str:
    """A file's text, which must be UTF-8."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValidationError(origin, None, f"cannot read: {error.strerror}") from None
    return decode(data, origin)


def decode(data: bytes, origin: str) -> str:
    """Bytes read from ``origin`` as UTF-8 text."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationError(
            origin, None, f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"
        ) from None


def read(path, fmt: str, origin: str):
    """The parsed content of a JSON or YAML file."""
    return parse(read_text(path, origin), fmt, origin)


def load(path) -> Network:
    path = Path(path)
    origin = f"file '{path}'"
    return Network.from_dict(read(path, _format_of(path), origin))
