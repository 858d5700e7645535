"""Save and load networks as JSON or YAML, with exact round trip (floats are written as repr)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from neurodeploy.description.network import Network
from neurodeploy.errors import ValidationError

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def _format_of(path: Path) -> str:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValidationError(f"file '{path}'", None, "expected a .json, .yaml or .yml file") from None


def dumps(network: Network, fmt: str = "json") -> str:
    data = network.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=1) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


def save(network: Network, path) -> Path:
    path = Path(path)
    text = dumps(network, _format_of(path))
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return path


def parse(text: str, fmt: str, origin: str):
    """Parsed JSON/YAML data; a syntax error becomes a ValidationError naming ``origin``."""
    try:
        return json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValidationError(origin, None, f"not valid {fmt.upper()}: {str(error).splitlines()[0]}") from None


def load(path) -> Network:
    path = Path(path)
    fmt = _format_of(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValidationError(f"file '{path}'", None, f"cannot read: {error.strerror}") from None
    return Network.from_dict(parse(text, fmt, f"file '{path}'"))
