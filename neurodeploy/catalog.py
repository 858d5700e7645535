"""Where models and targets come from: the package's own ``neurodeploy/models/`` and
``neurodeploy/targets/`` folders (package data, so an installed wheel has them), plus folders listed in
``NEURODEPLOY_MODEL_PATH`` / ``NEURODEPLOY_TARGET_PATH`` (os.pathsep-separated), which come first.

A model family is a Python file defining ``NAME`` (its registered name), a module docstring whose
first line is its summary, and ``build(**params) -> Network``. ``MODEL`` arguments are a registered
name, a ``.json``/``.yaml`` network file, or ``path.py:function``. A builder's annotations type its
``--param`` values, and ``Annotated[float, Range(above=0)]`` bounds them, before it runs. A model
folder's ``protocols/`` holds its families' operation protocols, which ``--protocol`` takes by name.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import inspect
import os
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, UnionType
from typing import Callable

import yaml

from neurodeploy.description import Network, io, resources, values
from neurodeploy.errors import NeurodeployError, ValidationError


def _packaged(folder: str) -> Path:
    """A data folder shipped inside the package. It is searched and imported from as a folder, which
    an installed wheel (always unpacked) or a clone provides."""
    return Path(str(importlib.resources.files("neurodeploy").joinpath(folder))).resolve()


MODELS = _packaged("models")
"""The packaged model families; their protocols are in ``MODELS / "protocols"``."""
TARGETS = _packaged("targets")


def _folders(packaged: Path, variable: str) -> list[Path]:
    extra = [Path(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]
    return [*extra, packaged]


MODELS_PACKAGE = "neurodeploy_models"


def _models_package() -> ModuleType:
    """The model folders as one package, so model files can share code (``from ._shared import x``)."""
    package = sys.modules.get(MODELS_PACKAGE)
    if package is None:
        package = ModuleType(MODELS_PACKAGE)
        package.__path__ = []
        sys.modules[MODELS_PACKAGE] = package
    package.__path__[:] = [str(folder) for folder in _folders(MODELS, "NEURODEPLOY_MODEL_PATH") if folder.is_dir()]
    return package


def _failure(error: BaseException) -> str:
    """An exception from user code in one line: its type and first line (``SystemExit`` says its code)."""
    if isinstance(error, SystemExit):
        return f"sys.exit({error.code!r})"
    text = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _import_model(path: Path) -> ModuleType:
    _models_package()
    name = f"{MODELS_PACKAGE}.{path.stem}"
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        raise ValidationError(f"model file '{path}'", None, f"cannot be imported: {_failure(error)}") from None


def _import_file(path: Path) -> ModuleType:
    """A builder file outside the model folders (``path.py:function``)."""
    name = f"neurodeploy_builder_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValidationError(f"model file '{path}'", None, "cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        raise ValidationError(f"model file '{path}'", None, f"cannot be imported: {_failure(error)}") from None
    return module


@dataclass(eq=False)
class ModelFamily:
    """A registered model: its name, summary and builder (and the module, for extras it defines)."""

    name: str
    summary: str
    path: Path
    module: ModuleType

    @property
    def build(self) -> Callable[..., Network]:
        return self.module.build


def model_families() -> dict[str, ModelFamily]:
    families = {}
    for folder in _folders(MODELS, "NEURODEPLOY_MODEL_PATH"):
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            if path.name.startswith("_"):
                continue
            try:
                module = _import_model(path)
            except ValidationError as error:
                # One broken file must not take every model down: it is left out, and said so.
                print(f"warning: {error} (skipped)", file=sys.stderr)
                continue
            name = getattr(module, "NAME", None)
            if not isinstance(name, str) or not callable(getattr(module, "build", None)) or name in families:
                continue
            summary = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
            families[name] = ModelFamily(name, summary, path, module)
    return families


def model_family(name: str) -> ModelFamily:
    """The registered family called ``name``."""
    families = model_families()
    if name not in families:
        raise ValidationError(f"model '{name}'", None, f"unknown model (registered: {', '.join(families) or 'none'})")
    return families[name]


@dataclass(frozen=True)
class FamilyParameter:
    """A builder parameter as a user sets it with ``--param``: its type and bounds as the builder declares
    them (empty when it declares none) and its default (``inspect.Parameter.empty``: required)."""

    name: str
    types: str
    bounds: str
    default: object


def family_parameters(family: ModelFamily) -> list[FamilyParameter]:
    """The parameters of a family's builder, in the signature's order, typed and bounded as
    :func:`load_model` checks them."""
    try:
        hints = typing.get_type_hints(family.build, include_extras=True)
    except Exception:  # an annotation that does not evaluate: the defaults' types, as load_model falls back on
        hints = {}
    found = []
    for parameter in inspect.signature(family.build).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        declared, optional, ranges = _declared_types(parameter, hints)
        names = [t.__name__ for t in SCALAR_TYPES if t in declared]
        if not names and parameter.name in hints:
            names = [getattr(hints[parameter.name], "__name__", str(hints[parameter.name]))]
        shown_none = optional and not (names and "None" in names[-1])  # a hint as written may say it
        types = " or ".join(names + (["None"] if shown_none else []))
        bounds = [
            f"{sign} {value:g}"
            for bound in ranges
            for sign, value in ((">", bound.above), (">=", bound.at_least), ("<=", bound.at_most))
            if value is not None
        ]
        found.append(FamilyParameter(parameter.name, types, ", ".join(bounds), parameter.default))
    return found


PROTOCOLS = "protocols"
"""The folder of a model folder holding its families' protocols, ``<family>-<what>.json``."""


def protocol_files() -> dict[str, Path]:
    """The protocols of the model folders by name (the file's stem); a user folder's come first, and the
    first of a name wins."""
    files = {}
    for folder in _folders(MODELS, "NEURODEPLOY_MODEL_PATH"):
        protocols = folder / PROTOCOLS
        for path in sorted(protocols.glob("*.json")) if protocols.is_dir() else []:
            files.setdefault(path.stem, path)
    return files


def family_protocols(families) -> dict[str, list[str]]:
    """The protocol names each family ships: a protocol belongs to the family its name starts with
    (followed by ``-``), the longest such name if several do."""
    shipped = {name: [] for name in families}
    for protocol in protocol_files():
        owners = [name for name in families if protocol.startswith(f"{name}-")]
        if owners:
            shipped[max(owners, key=len)].append(protocol)
    return shipped


def protocol_path(reference) -> Path:
    """A ``--protocol`` argument: a file that exists, else the name of a protocol in the model folders."""
    path = Path(reference)
    if os.path.exists(path):  # False, not an error, for a name the system cannot look up (too long)
        return path
    files = protocol_files()
    if str(reference) in files:
        return files[str(reference)]
    raise ValidationError(
        "option --protocol",
        None,
        f"'{reference}' is neither a file nor a protocol name (protocols: {', '.join(files) or 'none'})",
    )


@dataclass(eq=False)
class LoadedModel:
    """A network and where it came from, as recorded in a run's manifest."""

    network: Network
    name: str
    source: str
    parameters: dict = field(default_factory=dict)
    """The parameters given; ``arguments`` adds the builder's defaults."""
    arguments: dict = field(default_factory=dict)
    family: ModelFamily | None = None
    notes: list = field(default_factory=list)
    """Lines the command line prints about the model (an imported NIR graph's latency per layer)."""
    load_s: float | None = None
    """The wall time its loading took (the builder's run, a graph's import, a script's capture)."""
    warnings: list = field(default_factory=list)
    """Lines about values that are legal but almost surely a mistake (:meth:`Network.implausible_values`);
    none for a NIR graph, whose values are its converter's, in the graph's own scaling."""
    input_warnings: list = field(default_factory=list)
    """Lines about its input, legal but almost surely a mistake: spikes of its own inputs after the run's end
    (:func:`neurodeploy.pipeline.unsent_spikes`)."""

    def manifest(self) -> dict:
        return {"name": self.name, "source": self.source, "parameters": self.parameters}


def parse_parameters(pairs) -> dict:
    """``KEY=VALUE`` strings to a dict; values are read as YAML (numbers, booleans, lists)."""
    parameters = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key:
            raise ValidationError("option --param", None, f"expected KEY=VALUE, got {pair!r}")
        try:
            parameters[key] = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            parameters[key] = text
        except (RecursionError, ValueError):  # nested too deeply; an integer past Python's digit limit
            raise ValidationError("option --param", key, f"cannot read the value {text[:40]!r}...") from None
    return parameters


SCALAR_TYPES = (bool, int, float, str)


def _options(hint, ranges: list) -> list:
    """The types a hint allows (the members of a union), adding the ``Range`` items of any
    ``Annotated`` among them to ``ranges``."""
    if typing.get_origin(hint) is typing.Annotated:
        ranges += [item for item in hint.__metadata__ if isinstance(item, values.Range)]
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) in (typing.Union, UnionType):
        return [option for member in typing.get_args(hint) for option in _options(member, ranges)]
    return [hint]


def _declared_types(parameter: inspect.Parameter, hints: dict) -> tuple[set, bool, list[values.Range]]:
    """The scalar types a builder parameter declares (annotation, else the default's type), whether
    None is allowed, and the ranges it declares (``Annotated[float, Range(...)]``); no types when it
    declares none of them (lists, arrays: passed as given)."""
    annotation = hints.get(parameter.name, inspect.Parameter.empty)
    if annotation is inspect.Parameter.empty:
        default = parameter.default
        return ({type(default)} if type(default) in SCALAR_TYPES else set()), default is None, []
    ranges = []
    options = _options(annotation, ranges)
    optional = type(None) in options or parameter.default is None
    return {t for t in options if t in SCALAR_TYPES}, optional, ranges


def typed_parameter(value, types: set, optional: bool, where: str, key: str):
    """``value`` as the type the builder declares: numbers written as text (YAML 1.1 reads ``2e2`` as a
    string) become floats, integers stay integers, anything else is refused."""
    if not types or (optional and value is None):
        return value
    if bool in types and isinstance(value, bool):
        return value
    if float in types:
        return values.number(value, None, where, key)
    if int in types:
        number = values.number(value, None, where, key) if isinstance(value, str) else value
        return values.integer(number, where, key)
    if str in types and isinstance(value, str):
        return value
    if types == {bool}:
        return values.boolean(value, where, key)
    names = " or ".join(sorted(t.__name__ for t in types))
    raise ValidationError(where, key, f"expected {names}, got {value!r}"[:200])


def _call_builder(builder: Callable, parameters: dict, what: str, source: str, trusted: bool) -> Network:
    """Call a builder on parameters checked against its signature. A builder that is not the
    repository's own (``trusted``) and raises is bad input: one line naming it and the exception."""
    signature = inspect.signature(builder)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    if not accepts_any:
        for key in parameters:
            if key not in signature.parameters:
                accepted = ", ".join(signature.parameters) or "none"
                raise ValidationError("option --param", key, f"{what} has no such parameter (accepted: {accepted})")
    try:
        hints = typing.get_type_hints(builder, include_extras=True)
    except Exception:  # an annotation that does not evaluate: fall back on the defaults' types
        hints = {}
    for key, value in parameters.items():
        if key in signature.parameters:
            declared, optional, ranges = _declared_types(signature.parameters[key], hints)
            value = typed_parameter(value, declared, optional, f"{what} parameters", key)
            for bounds in ranges if value is not None else ():
                value = bounds.check(value, f"{what} parameters", key)
            parameters[key] = value
    try:
        try:
            network = builder(**parameters)
        except NeurodeployError:
            raise
        except (Exception, SystemExit) as error:
            if trusted and not isinstance(error, SystemExit):
                raise
            raise ValidationError(
                f"function '{builder.__name__}' in '{source}'", None, f"failed: {_failure(error)}"
            ) from None
        if not isinstance(network, Network):
            raise ValidationError(what, None, f"build returned {type(network).__name__}, not a Network")
        return network.validate()
    except MemoryError:  # an allocation too large for the memory limit, before any size check could see it
        if not parameters:
            raise
        raise ValidationError(
            f"{what} with {_given(parameters)}", None, f"building it runs out of memory ({resources.RAISE_IT})"
        ) from None
    except ValidationError as error:  # named with the parameters that led to it
        if not parameters:
            raise
        given = _given(parameters)
        within = error.where[len(what) :] if error.where.startswith(what) else f": {error.where}"
        raise ValidationError(f"{what} with {given}{within}", error.field, error.message) from None


def _given(parameters: dict) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in parameters.items())[:300]


def _resolve_builder(reference: str) -> tuple[str, str, Callable, ModelFamily | None]:
    path_part, colon, function_name = reference.rpartition(":")
    if colon and path_part.endswith(".py"):
        path = Path(path_part)
        if not path.is_file():
            raise ValidationError(f"model '{reference}'", None, f"no such file '{path}'")
        builder = getattr(_import_file(path.resolve()), function_name, None)
        if not callable(builder):
            raise ValidationError(f"model '{reference}'", None, f"'{path}' defines no function '{function_name}'")
        return reference, str(path), builder, None
    families = model_families()
    if reference not in families:
        raise ValidationError(
            f"model '{reference}'",
            None,
            f"unknown model (registered: {', '.join(families) or 'none'}; "
            "or give a .json/.yaml file, path.py:function, a PyNN script.py or a .nir graph)",
        )
    family = families[reference]
    return family.name, str(family.path), family.build, family


NIR_SUFFIX = ".nir"
SCRIPT_SUFFIX = ".py"
"""A PyNN script (``import pyNN.spiNNaker as sim``): the network its ``run`` builds, taken by running it on
``neurodeploy.pynn`` (:mod:`neurodeploy.pynn.capture`)."""
NIR_OPTIONS = ("dt", "discretization", "reset", "threshold")
"""The options of a NIR graph's import (:func:`neurodeploy.interchange.nir_import.read_graph`), given on
the command line as ``--dt``, ``--discretization``, ``--reset``, ``--threshold``."""


def load_model(
    reference: str, parameters: dict | None = None, seed: int | None = None, nir_options: dict | None = None
) -> LoadedModel:
    """Resolve a MODEL argument into a validated network. ``seed`` becomes the network's seed and,
    when the builder takes a ``seed`` parameter not given explicitly, that parameter too. A ``.nir`` file
    is imported with ``nir_options`` (see ``NIR_OPTIONS``), which no other model takes; a ``.py`` file is a
    PyNN script, captured."""
    started = time.perf_counter()
    loaded = _load(reference, parameters, seed, nir_options)
    loaded.load_s = time.perf_counter() - started
    if Path(reference).suffix.lower() != NIR_SUFFIX:
        loaded.warnings = loaded.network.implausible_values()
    return loaded


def _load(reference: str, parameters: dict | None, seed: int | None, nir_options: dict | None) -> LoadedModel:
    parameters = dict(parameters or {})
    nir_options = {key: value for key, value in (nir_options or {}).items() if value is not None}
    is_graph = Path(reference).suffix.lower() == NIR_SUFFIX
    if nir_options and not is_graph:
        key = next(iter(nir_options))
        raise ValidationError(
            f"option --{key}", None, f"applies to NIR graphs ({NIR_SUFFIX} files), not to model '{reference}'"
        )
    if is_graph:
        if parameters:
            raise ValidationError(
                "option --param", next(iter(parameters)), "parameters apply to model builders, not to NIR graphs"
            )
        values.check_keys(nir_options, NIR_OPTIONS, "NIR options")
        # imported here: the importer (and scipy.sparse) is for .nir models only, not every command's start
        from neurodeploy.interchange.nir_import import latency_report, read_graph

        network = read_graph(
            reference, **{("dt_ms" if key == "dt" else key): value for key, value in nir_options.items()}
        )
        if seed is not None:
            network.seed = seed
        return LoadedModel(
            network, network.name, str(Path(reference)), nir_options, dict(nir_options), notes=latency_report(network)
        )
    if Path(reference).suffix.lower() == SCRIPT_SUFFIX:
        if parameters:
            raise ValidationError(
                "option --param", next(iter(parameters)), "parameters apply to model builders, not to PyNN scripts"
            )
        # imported here: PyNN is for PyNN scripts only, not every command's start
        from neurodeploy.pynn.capture import capture

        network = capture(reference)
        if seed is not None:
            network.seed = seed
        return LoadedModel(network, Path(reference).stem, str(Path(reference)))
    if Path(reference).suffix.lower() in io.SUFFIXES:
        if parameters:
            raise ValidationError(
                "option --param", next(iter(parameters)), "parameters apply to model builders, not to network files"
            )
        network = io.load(reference)
        name, source, family, arguments = network.name, str(Path(reference)), None, {}
    else:
        name, source, builder, family = _resolve_builder(reference)
        if seed is not None and "seed" in inspect.signature(builder).parameters and "seed" not in parameters:
            parameters["seed"] = seed
        trusted = Path(source).resolve().parent == MODELS
        network = _call_builder(builder, parameters, f"model '{name}'", source, trusted)
        bound = inspect.signature(builder).bind_partial(**parameters)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
    if seed is not None:
        network.seed = seed
    return LoadedModel(network, name, source, parameters, arguments, family)


@dataclass(eq=False)
class TargetDescription:
    """A deployment target described as data (``neurodeploy/targets/*.yaml``)."""

    name: str
    summary: str
    path: Path
    data: dict


class TargetField(typing.NamedTuple):
    """One key of a target file: an ``integer`` or ``number`` of at least ``minimum`` (a number: above
    ``above``) and at most ``maximum``, or a ``mapping``; ``required`` when a toolchain reads it."""

    kind: str
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    above: float | None = None


COMMON_TARGET_FIELDS = {
    "base": TargetField("label"),
    "name": TargetField("label", True),
    "summary": TargetField("text"),
    "kind": TargetField("label", True),
}
# What each kind's toolchain reads from its target file (backends/<kind>/rules.py and toolchain.py), and
# the figures the files carry for people.
TARGET_SCHEMAS = {
    "spinnaker": {
        "board_version": TargetField("integer", True, 1),
        "neurons_per_core": TargetField("integer", True, 1, 2**16),
        "timestep_ms": TargetField("number", True, above=0),
        "application_cores": TargetField("integer", True, 1),
        "ring_buffer_bits": TargetField("integer", True, 1, 32),
        "delay_extension_factor": TargetField("integer", True, 1),
        "chips": TargetField("integer", False, 1),
        "cores_per_chip": TargetField("integer", False, 1),
        "sdram_per_chip_bytes": TargetField("integer", False, 1),
        "dtcm_per_core_bytes": TargetField("integer", False, 1),
        "itcm_per_core_bytes": TargetField("integer", False, 1),
        "router_entries_per_chip": TargetField("integer", False, 1),
        "clock_hz": TargetField("integer", False, 1),
        "structural_plasticity_synapse_cores": TargetField("integer", False, 0),
        "encoding_profile": TargetField("label"),
        "numeric_format": TargetField("mapping"),
    },
    "loihi": {
        "neuro_cores": TargetField("integer", True, 1),
        "neurons_per_core": TargetField("integer", True, 1),
        "synapses_per_core": TargetField("integer", True, 1),
        "max_delay_ticks": TargetField("integer", True, 1),
        "embedded_processors": TargetField("integer", False, 0),
        "neurons_per_chip": TargetField("integer", False, 1),
        "synapses_per_chip": TargetField("integer", False, 1),
        "timestep_ms": TargetField("number", False, above=0),
        "numeric_format": TargetField("mapping"),
        "quantization": TargetField("label"),
    },
}


def checked_target(data, origin: str) -> dict:
    """A target file's content checked against the schema of its kind: required keys, no unknown ones,
    types and ranges (numbers written as text become floats). Kinds without a schema (a toolchain
    installed from elsewhere) get the common keys."""
    if not isinstance(data, dict):
        raise ValidationError(origin, None, "expected a mapping of target figures")
    for key, spec in COMMON_TARGET_FIELDS.items():
        if spec.required and key not in data:
            raise ValidationError(origin, key, "is required")
    kind = values.label(data["kind"], origin, "kind")
    schema = {**COMMON_TARGET_FIELDS, **TARGET_SCHEMAS.get(kind, {})}
    values.check_keys(
        data,
        schema if kind in TARGET_SCHEMAS else {**data, **schema},
        origin,
        required=[key for key, spec in schema.items() if spec.required],
    )
    for key, spec in schema.items():
        if key not in data:
            continue
        value = data[key]
        if spec.kind == "label":
            values.label(value, origin, key)
        elif spec.kind == "text":
            if not isinstance(value, str) or not value.isprintable():
                raise ValidationError(origin, key, "expected one line of text")
        elif spec.kind == "mapping":
            if not isinstance(value, dict):
                raise ValidationError(origin, key, "expected a mapping")
        elif spec.kind == "integer":
            values.integer(value, origin, key, spec.minimum, spec.maximum)
        else:
            data[key] = values.number(value, None, origin, key)  # YAML 1.1 reads 2e2 as text
            values.check_range(data[key], origin, key, "", above=spec.above)
    return data


@dataclass(eq=False)
class _TargetFile:
    path: Path
    name: str | None
    description: TargetDescription | None
    error: ValidationError | None


def _with_base(data, origin: str, raw: dict[str, dict]) -> dict:
    """A target file's figures over those of the target its ``base`` names (a variant of a chip: the same
    figures, another choice such as Lava's ``quantization``). A base may not have a base itself."""
    if not isinstance(data, dict) or "base" not in data:
        return data
    if "name" not in data:
        raise ValidationError(origin, "name", "is required (a variant names itself; it would take its base's)")
    base = values.label(data["base"], origin, "base")
    if base not in raw:
        raise ValidationError(origin, "base", f"no target named '{base}' (targets: {', '.join(sorted(raw))})")
    if "base" in raw[base]:
        raise ValidationError(origin, "base", f"'{base}' has a base of its own: name the chip's own target")
    return {**raw[base], **{key: value for key, value in data.items() if key != "base"}}


def _target_files() -> list[_TargetFile]:
    """Every target file, read and checked; a broken one carries its error (and its name if readable)."""
    read = []
    for folder in _folders(TARGETS, "NEURODEPLOY_TARGET_PATH"):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            origin = f"target file '{path}'"
            try:
                read.append((path, origin, io.read(path, "yaml", origin), None))
            except ValidationError as error:
                read.append((path, origin, None, error))
    raw = {}  # the first file of a name, as target_description takes it
    for _, _, data, _ in read:
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            raw.setdefault(data["name"], data)
    files = []
    for path, origin, data, error in read:
        if error is not None:
            files.append(_TargetFile(path, None, None, error))
            continue
        try:
            checked = checked_target(_with_base(data, origin, raw), origin)
        except ValidationError as error:
            name = data.get("name") if isinstance(data, dict) and isinstance(data.get("name"), str) else None
            files.append(_TargetFile(path, name, None, error))
            continue
        description = TargetDescription(checked["name"], checked.get("summary", ""), path, checked)
        files.append(_TargetFile(path, checked["name"], description, None))
    return files


def target_descriptions() -> dict[str, TargetDescription]:
    """The valid targets by name (the first file of a name wins); broken files are left out with a
    warning on stderr."""
    targets = {}
    for item in _target_files():
        if item.error is not None:
            print(f"warning: {item.error} (skipped)", file=sys.stderr)
        elif item.name not in targets:
            targets[item.name] = item.description
    return targets


def target_description(name: str) -> TargetDescription:
    """The target called ``name``; its file's error if that file is broken."""
    files = _target_files()
    for item in files:
        if item.name == name:
            if item.error is not None:
                raise item.error
            return item.description
    described = ", ".join(dict.fromkeys(item.name for item in files if item.error is None)) or "none"
    raise ValidationError("option --target", None, f"unknown target '{name}' (described: {described})")
