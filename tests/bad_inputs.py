"""Hypothesis strategies for inputs the program must refuse: each draws a valid document and breaks it in one
place, so that every example is bad for a reason a reader can name (the mutation is part of the example).

Documents are written to disk as the program reads them: text that is JSON or YAML, and, for damage that no
serializer writes (non-UTF-8 bytes, 5,000-deep nesting, 4,300-digit integers), bytes patched into that text.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import strategies as st

import neurodeploy as nd
from conftest import build_small_network

NAN, INF = float("nan"), float("inf")
DEEP = 5000
LONG_INTEGER = "9" * 4301
"""One digit past Python's limit on converting digits to an int (4,300)."""

# Placeholders replaced in the serialized text by what no serializer writes.
RAW_PLACEHOLDERS = {
    "@@deep@@": "[" * DEEP + "]" * DEEP,
    "@@long-integer@@": LONG_INTEGER,
}
NON_UTF8_PLACEHOLDER = "@@non-utf8@@"


def serialize(data, fmt: str) -> bytes:
    """JSON or YAML text of ``data`` with the raw placeholders patched in (NaN and infinities as each format
    writes them; lone surrogates escaped, as a JSON file can hold them)."""
    if fmt == "json":
        text = json.dumps(data, indent=1, ensure_ascii=True)
    else:
        try:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=120)
        except yaml.YAMLError:  # lone surrogates: JSON text is YAML too
            text = json.dumps(data, ensure_ascii=True)
    for placeholder, raw in RAW_PLACEHOLDERS.items():
        text = text.replace(json.dumps(placeholder), raw).replace(placeholder, raw)
    encoded = text.encode("ascii", "backslashreplace")
    return encoded.replace(NON_UTF8_PLACEHOLDER.encode(), b"B\xff\xfeA")


@dataclass
class Mutation:
    """One bad change to a document: what it does (shown in a failing example) and the change itself, which
    edits a copy of the document in place or, when ``replaces``, returns the document that replaces it."""

    what: str
    change: callable
    replaces: bool = False

    def __repr__(self):
        return self.what

    def apply(self, document):
        changed = copy.deepcopy(document)
        result = self.change(changed)
        return result if self.replaces else changed


def _at(path):
    """Getter of the container holding the last key of ``path`` in a document."""

    def parent(document):
        for key in path[:-1]:
            document = document[key]
        return document

    return parent


def set_value(path, value, what=None):
    def change(document):
        _at(path)(document)[path[-1]] = value

    return Mutation(what or f"{'.'.join(map(str, path))} = {value!r}", change)


def delete(path):
    def change(document):
        del _at(path)(document)[path[-1]]

    return Mutation(f"delete {'.'.join(map(str, path))}", change)


def whole(value, what):
    return Mutation(what, lambda document: value, replaces=True)


# -- values ----------------------------------------------------------------------------------------------

WRONG_TYPES = ["abc", "", True, [[1.0]], {"x": 1}, "@@deep@@"]
NOT_FINITE = [NAN, INF, -INF]
NOT_POSITIVE = [0, 0.0, -1, -5.5, -1e300]
NEGATIVE = [-1, -5.5, -1e300]
NOT_INTEGER = [2.5, 1e300, "3", "@@long-integer@@"]
WEIRD_LABELS = [
    "A\nB",
    "A\r\nerror: injected",
    "\x1b[31mred",
    "tab\there",
    "\x00nul",
    "\ud800lone",
    "A\u2028B",
    NON_UTF8_PLACEHOLDER,
]


def bad_numbers(*groups):
    return [value for group in groups for value in group]


# -- network descriptions --------------------------------------------------------------------------------

BASE_NETWORK = build_small_network().to_dict()

_P = ("populations",)
_S = ("spike_sources", 0)
_J = ("projections",)


def _network_value_mutations() -> list[Mutation]:
    """Fields set to values no network may hold (refused by ``validate`` as much as by ``run``)."""
    sites = {
        # path: bad values
        ("seed",): bad_numbers(WRONG_TYPES, NEGATIVE, NOT_FINITE, [2.5, "3", "@@long-integer@@"]),
        ("duration",): bad_numbers(WRONG_TYPES, NEGATIVE, NOT_FINITE),
        ("semantics", "dt"): bad_numbers(WRONG_TYPES, NOT_POSITIVE, NOT_FINITE),
        ("semantics", "threshold"): ["=>", 5, None, ["<="]],
        ("semantics", "update_order"): [["input"], "input", ["x", "y", "z", "w"], 5],
        (*_P, 0, "size"): bad_numbers(WRONG_TYPES, NOT_POSITIVE, NOT_INTEGER, NOT_FINITE),
        (*_P, 1, "size"): [0, -1, 2.5, "two", NAN],
        (*_P, 0, "cell_type"): ["IF_quantum", 5, None, ["IF_curr_exp"]],
        (*_P, 0, "parameters"): [[1, 2], "tau_m", 5],
        (*_P, 0, "parameters", "tau_m"): bad_numbers(WRONG_TYPES, NOT_POSITIVE, NOT_FINITE, ["1 banana", "10 mV"]),
        (*_P, 0, "parameters", "cm"): bad_numbers(WRONG_TYPES, NOT_POSITIVE, NOT_FINITE),
        (*_P, 0, "parameters", "tau_syn_E"): bad_numbers(NOT_POSITIVE, NOT_FINITE, ["abc"]),
        (*_P, 0, "parameters", "tau_refrac"): bad_numbers(NEGATIVE, NOT_FINITE, ["abc"]),
        (*_P, 0, "parameters", "v_thresh"): bad_numbers(WRONG_TYPES, NOT_FINITE),
        (*_P, 0, "parameters", "i_offset"): [
            [0.0, 0.5],
            [0.0, 0.5, 1.0, 2.0],
            [0.0, [0.5], 1.0],
            [0.0, NAN, 1.0],
            [0.0, "x", 1.0],
            "@@deep@@",
        ],
        (*_P, 0, "initial_values", "v"): bad_numbers(WRONG_TYPES, NOT_FINITE),
        (*_S, "size"): bad_numbers(WRONG_TYPES, NOT_POSITIVE, NOT_INTEGER, [2, 4]),
        (*_S, "spike_times"): [
            [[1.0, [5.0]], [2.0], []],
            [[1.0], [2.0]],
            [[5.0, 1.0], [2.0], []],
            [[1.0, 1.0], [], []],
            [[NAN], [2.0], []],
            [[INF], [], []],
            [[-1.0], [], []],
            [["abc"], [], []],
            "abc",
            [1.0, 2.0, 3.0],
            [[1e300], [], []],
            [[2.0**63], [], []],
            "@@deep@@",
        ],
        (*_J, 0, "weight"): bad_numbers(WRONG_TYPES, NOT_FINITE, [[30.0, 30.0]]),
        (*_J, 0, "delay"): bad_numbers(
            WRONG_TYPES, NOT_POSITIVE, NOT_FINITE, [1e300, 2.0**63, 2**63, 1e-9, 1e-320, 0.5]
        ),
        (*_J, 1, "weight"): [
            [0.1, 0.2, 0.3, 0.4, 0.5],
            [0.1] * 7,
            [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
            [0.1, 0.2, NAN, 0.4, 0.5, 0.6],
            [0.1, 0.2, "x", 0.4, 0.5, 0.6],
        ],
        (*_J, 1, "delay"): [
            [1, 2, 3, 1, 2],
            [1, 2, 3, 1, 2, -3],
            [1, 2, 3, 1, 2, NAN],
            [1, 2, 3, 1, 2, 1e300],
            [1, 2, 3, 1, 2, 1e-9],
            [[1, 2, 3], [1, 2, 3]],
        ],
        (*_J, 1, "receptor"): ["sideways", 5, None, ["inhibitory"]],
        (*_J, 1, "connector"): ["all_to_all", 5, None, [], {}],
        (*_J, 1, "connector", "kind"): ["magic", 5, None],
        (*_J, 1, "connector", "allow_self_connections"): ["yes please", 5, [True]],
        (*_J, 2, "connector", "p"): bad_numbers(WRONG_TYPES, NOT_FINITE, [-0.5, 1.5, 1e300]),
        (*_J, 2, "connector", "seed"): bad_numbers(["abc", [1]], NEGATIVE, [2.5]),
        (*_J, 2, "plasticity"): ["stdp", 5, []],
        (*_J, 2, "plasticity", "kind"): ["stdp_triplet_magic", 5],
        (*_J, 2, "plasticity", "tau_plus"): bad_numbers(WRONG_TYPES, NOT_POSITIVE, NOT_FINITE),
        (*_J, 2, "plasticity", "A_plus"): bad_numbers(WRONG_TYPES, NOT_FINITE),
        (*_J, 2, "plasticity", "w_max"): bad_numbers(WRONG_TYPES, NOT_FINITE, [-1.0]),
        (*_J, 2, "plasticity", "weight_dependence"): ["exotic", 5],
        (*_J, 2, "weight"): [2.0, -1.0, NAN],  # outside [w_min, w_max]
        (*_J, 3, "connector", "pre"): [
            [0, 1, 0],
            [0],
            [0, 5],
            [0, -1],
            [0, 0.5],
            [0, "x"],
            [[0], [1]],
            "01",
            [0, 2**63],
        ],
        (*_J, 3, "connector", "post"): [[0, 1, 1], [], [0, 5], [0, -1], [0.5, 1], [0, NAN]],
        (*_J, 3, "pre_slice"): [[2, 0], [0, 9], [-1, 2], [0, 1, 2], [0.5, 2], "0:2", 5],
        (*_J, 3, "post_slice"): [[1, 1], [1, 4], [0, 2**63]],
        ("recordings", "A"): [["spikes", "charm"], "spikes", [5], {"spikes": True}],
        ("format",): ["other.format", 5, None],
        ("version",): [2, "1", 0, NAN],
        ("populations",): [{}, "A", 5],
        ("projections",): [{}, "S->A"],
        ("spike_sources",): [{"S": 1}],
        ("recordings",): [[], "A", 5],
    }
    return [set_value(path, value) for path, bad in sites.items() for value in bad]


def _network_shape_mutations() -> list[Mutation]:
    """Missing, unknown, dangling and oddly written pieces."""
    mutations = [
        delete(path)
        for path in (
            ("format",),
            (*_P, 0, "label"),
            (*_P, 0, "size"),
            (*_S, "label"),
            (*_S, "size"),
            (*_J, 0, "pre"),
            (*_J, 0, "post"),
            (*_J, 0, "connector"),
            (*_J, 1, "connector", "kind"),
            (*_J, 3, "connector", "pre"),
            (*_J, 3, "connector", "post"),
        )
    ]
    for path in (
        (),
        ("semantics",),
        (*_P, 0),
        (*_P, 0, "parameters"),
        (*_P, 0, "initial_values"),
        _S,
        (*_J, 0),
        (*_J, 0, "connector"),
        (*_J, 2, "plasticity"),
        (*_J, 2, "plasticity", "semantics"),
        ("recordings",),
    ):
        mutations.append(set_value((*path, "bogus_field"), 1, f"unknown key {'.'.join(map(str, path))}.bogus_field"))
    for index in range(4):
        for side in ("pre", "post"):
            mutations += [set_value((*_J, index, side), label) for label in ("nowhere", "a", "", 5, None)]
    for weird in WEIRD_LABELS:
        # A label that no other object refers to by that name: the references dangle, and the message
        # naming it must still be one line.
        mutations += [
            set_value((*_P, 0, "label"), weird),
            set_value((*_S, "label"), weird),
            set_value((*_J, 0, "post"), weird),
            set_value(("recordings", "A"), ["spikes", weird]),
        ]
        mutations.append(Mutation(f"duplicate label {weird!r}", _duplicate_label(weird)))
        mutations.append(
            Mutation(f"recording of unknown {weird!r}", lambda d, w=weird: d["recordings"].update({w: ["spikes"]}))
        )
    mutations += [
        Mutation("population B removed", lambda d: d["populations"].pop(1)),
        Mutation("spike source removed", lambda d: d["spike_sources"].clear()),
        Mutation("duplicate population", lambda d: d["populations"].append(copy.deepcopy(d["populations"][0]))),
        Mutation("duplicate projection label", lambda d: d["projections"].append(copy.deepcopy(d["projections"][0]))),
        Mutation("population is a number", lambda d: d["populations"].__setitem__(0, 5)),
        Mutation("projection is a string", lambda d: d["projections"].__setitem__(0, "S->A")),
        whole([], "document is a list"),
        whole(None, "document is null"),
        whole("network", "document is a string"),
        whole(5, "document is a number"),
        whole("@@deep@@", "document is 5,000 nested lists"),
        whole("@@long-integer@@", "document is a 4,300-digit integer"),
    ]
    return mutations


def _duplicate_label(label):
    def change(document):
        document["populations"][0]["label"] = label
        document["populations"][1]["label"] = label

    return change


NETWORK_MUTATIONS = _network_value_mutations() + _network_shape_mutations()

RESOURCE_MUTATIONS = [
    # Valid as descriptions perhaps, but no run of them fits in memory or time: ``run`` must refuse them.
    set_value((*_P, 0, "size"), 10**7, "population A of 10^7 neurons"),
    set_value((*_P, 1, "size"), 2**40, "population B of 2^40 neurons"),
    set_value((*_S, "size"), 10**9, "spike source of 10^9 neurons"),
    set_value((*_J, 0, "delay"), 1e9, "delay 1e9 ms"),
    set_value(("semantics", "dt"), 1e-9, "dt 1e-9 ms"),
    set_value(("semantics", "dt"), 1e-320, "dt 1e-320 ms"),
    set_value(("duration",), 1e12, "duration 1e12 ms"),
    set_value(("duration",), 1e300, "duration 1e300 ms"),
]


@dataclass
class BadFile:
    """A file's bytes and suffix, shown as the mutation that made it (not as its bytes)."""

    content: bytes
    suffix: str
    mutation: Mutation

    def __repr__(self):
        return f"{self.suffix} file with {self.mutation!r}"


@st.composite
def bad_network_files(draw):
    mutation = draw(st.sampled_from(NETWORK_MUTATIONS))
    fmt = draw(st.sampled_from(["json", "yaml"]))
    return BadFile(serialize(mutation.apply(BASE_NETWORK), fmt), f".{fmt}", mutation)


def damaged_texts(valid: bytes) -> list[tuple[bytes, str]]:
    """A valid file damaged as files get damaged: cut short, non-UTF-8, empty, binary."""
    return [
        (valid[: len(valid) // 2], "cut in half"),
        (b"\xff\xfe" + valid, "non-UTF-8 prefix"),
        (valid[:1] + b"\xc3\x28" + valid[1:], "invalid UTF-8 sequence"),
        (b"", "empty"),
        (b"\x00" * 64, "NUL bytes"),
        (b"[" * DEEP, "unclosed 5,000-deep nesting"),
    ]


# -- valid networks (so that the properties cannot pass by refusing everything) ---------------------------


@st.composite
def valid_networks(draw):
    net = nd.Network("generated", seed=draw(st.integers(0, 2**31 - 1)), duration=float(draw(st.integers(5, 40))))
    times = st.lists(st.integers(0, 39), max_size=6, unique=True).map(lambda ts: [float(t) for t in sorted(ts)])
    sources = draw(st.integers(1, 4))
    net.spike_source("in", [draw(times) for _ in range(sources)])
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    labels = [f"p{index}" for index in range(len(sizes))]
    for label, size in zip(labels, sizes):
        net.population(
            label, size, parameters={"tau_m": draw(st.floats(2.0, 50.0)), "i_offset": draw(st.floats(0.0, 2.0))}
        )
    every = {"in": sources, **dict(zip(labels, sizes))}
    for index in range(draw(st.integers(1, 4))):
        pre = draw(st.sampled_from(sorted(every)))
        post = draw(st.sampled_from(labels))
        kind = draw(st.sampled_from(["all", "probability", "list"] + (["one"] if every[pre] == every[post] else [])))
        connector = {
            "all": lambda: nd.AllToAll(),
            "one": lambda: nd.OneToOne(),
            "probability": lambda: nd.FixedProbability(draw(st.floats(0.05, 1.0)), seed=draw(st.integers(0, 99))),
            "list": lambda: nd.FromList(
                *zip(
                    *draw(
                        st.lists(
                            st.tuples(st.integers(0, every[pre] - 1), st.integers(0, every[post] - 1)),
                            min_size=1,
                            max_size=6,
                            unique=True,
                        )
                    )
                )
            ),
        }[kind]()
        plasticity = (
            nd.STDP(
                tau_plus=draw(st.floats(1.0, 30.0)),
                tau_minus=draw(st.floats(1.0, 30.0)),
                A_plus=0.1,
                A_minus=0.1,
                w_max=5.0,
            )
            if draw(st.booleans())
            else None
        )
        net.project(
            pre,
            post,
            connector,
            weight=draw(st.floats(0.0, 5.0)),
            delay=float(draw(st.integers(1, 5))),
            receptor=draw(st.sampled_from(["excitatory", "inhibitory"])),
            plasticity=plasticity,
            label=f"c{index}",
        )
    for label in labels:
        net.record(label)
    return net


# -- model parameters ------------------------------------------------------------------------------------

SIZE_VALUES = [
    "abc",
    "''",
    "[1, 2]",
    "{a: 1}",
    ".nan",
    ".inf",
    "-.inf",
    "-5",
    "0",
    "2.5",
    "true",
    "1e300",
    LONG_INTEGER,
    "null",
]
NUMBER_VALUES = ["abc", "[1, 2]", "{a: 1}", ".nan", ".inf", "-.inf", "true", "null", "1 banana", LONG_INTEGER + ".5e"]
POSITIVE_VALUES = NUMBER_VALUES + ["-5", "-1e300"]
PROBABILITY_VALUES = NUMBER_VALUES + ["-0.5", "1.5", "1e300"]
SEED_VALUES = ["abc", "-1", "2.5", "[1]", ".nan", "true"]
BOOLEAN_VALUES = ["abc", "5", "[true]", "{a: 1}", ".nan"]

PARAMETERS = {
    "feedforward-poisson": {
        "n_neurons": SIZE_VALUES,
        "n_inputs": SIZE_VALUES,
        "rate_hz": POSITIVE_VALUES,
        "duration_ms": POSITIVE_VALUES,
        "p_connect": PROBABILITY_VALUES,
        "w_low": NUMBER_VALUES + ["-1"],
        "w_high": NUMBER_VALUES,
        "max_delay_ms": POSITIVE_VALUES,
        "recurrent_p": PROBABILITY_VALUES,
        "recurrent_weight": NUMBER_VALUES,
        "dt_ms": POSITIVE_VALUES + ["0"],
        "seed": SEED_VALUES,
    },
    "ca3-cam": {"cue_size": SIZE_VALUES, "content_size": SIZE_VALUES},
    "hippocampus-dg-ca3-ca1": {"cue_size": SIZE_VALUES, "content_size": SIZE_VALUES},
    "hippocampus-sparse": {"cue_size": SIZE_VALUES, "content_size": SIZE_VALUES},
    "livewired-assoc": {
        "n_patterns": SIZE_VALUES,
        "pattern_size": SIZE_VALUES,
        "presentations": ["abc", "-5", "2.5", ".nan", "true"],
        "assoc_weight": NUMBER_VALUES,
        "turnover": BOOLEAN_VALUES,
        "turnover_epoch": POSITIVE_VALUES,
        "dormant_epochs": ["abc", "-5", "2.5", ".nan", "true", "[1]"],
        "seed": SEED_VALUES,
    },
    "topographic-map": {
        "n": SIZE_VALUES + ["5", "3"],
        "duration_ms": POSITIVE_VALUES,
        "rewiring": BOOLEAN_VALUES,
        "lateral_inhibition": BOOLEAN_VALUES,
        "t_stim": SIZE_VALUES,
        "sigma_stim": POSITIVE_VALUES,
        "f_base": NUMBER_VALUES + ["-5"],
        "f_mean": POSITIVE_VALUES,
        "conductance": BOOLEAN_VALUES,
        "snapshot_every_ms": NUMBER_VALUES,
        "seed": SEED_VALUES,
    },
}
"""Per registered model, per parameter, YAML texts of values it cannot take."""

USING = {
    ("livewired-assoc", "turnover_epoch"): ["turnover=true"],
    ("livewired-assoc", "dormant_epochs"): ["turnover=true"],
    ("feedforward-poisson", "recurrent_weight"): ["recurrent_p=0.1"],
}
"""Parameters that take effect only with another one set: both are given."""

HUGE_PARAMETERS = [
    ("feedforward-poisson", "n_neurons", "10000000"),
    ("feedforward-poisson", "n_inputs", "1000000000"),
    ("feedforward-poisson", "duration_ms", "1e12"),
    ("feedforward-poisson", "dt_ms", "1e-9"),
    ("ca3-cam", "cue_size", "100000"),
    ("ca3-cam", "content_size", "10000000"),
    ("hippocampus-dg-ca3-ca1", "content_size", "100000000"),
    ("hippocampus-sparse", "content_size", "100000000"),
    ("topographic-map", "n", "100000"),
    ("livewired-assoc", "n_patterns", "10000000"),
    ("topographic-map", "duration_ms", "1e12"),
]
"""Well-typed sizes no run fits in memory or time."""


@st.composite
def bad_parameters(draw):
    """(model, ['KEY=VALUE', ...]) with one bad value among the model's own valid ones."""
    model = draw(st.sampled_from(sorted(PARAMETERS)))
    name = draw(st.sampled_from(sorted(PARAMETERS[model])))
    value = draw(st.sampled_from(PARAMETERS[model][name]))
    return model, [*USING.get((model, name), []), f"{name}={value}"]


MALFORMED_PARAMETERS = [
    "n_neurons",
    "=5",
    "no_such_parameter=1",
    "n_neurons=[",
    "n_neurons=: :",
    "n_neurons=\ud800",
    "n_neurons=" + "[" * DEEP,
    "rate_hz=!!python/object:os.system ls",
]


# -- stimulus files (for the small network: spike source S of 3 neurons, 30 ms) ----------------------------

BASE_STIMULUS = {"S": [[1.0, 4.0], [], [10.0]]}

STIMULUS_MUTATIONS = [
    whole([], "stimulus is a list"),
    whole(None, "stimulus is null"),
    whole("S", "stimulus is a string"),
    whole(5, "stimulus is a number"),
    whole("@@deep@@", "stimulus is 5,000 nested lists"),
    whole({"nowhere": [[1.0], [], []]}, "unknown spike source"),
    whole({"A": [[1.0], [], [], []]}, "a population"),
    whole({"S\nX": [[1.0], [], []]}, "unknown label with a newline"),
    whole({"\ud800": [[1.0], [], []]}, "lone surrogate label"),
    whole({"@@non-utf8@@": [[1.0], [], []]}, "non-UTF-8 label"),
    *[
        set_value(("S",), value)
        for value in (
            [[1.0], []],
            [[1.0], [], [], []],
            "abc",
            5,
            None,
            {"0": [1.0]},
            [1.0, 2.0, 3.0],
            [[[1.0]], [], []],
            [[NAN], [], []],
            [[INF], [], []],
            [[-INF], [], []],
            [[-1.0], [], []],
            [[4.0, 1.0], [], []],
            [[1.0, 1.0], [], []],
            [["abc"], [], []],
            [[None], [], []],
            [[1e300], [], []],
            [[2.0**63], [], []],
            [["@@long-integer@@"], [], []],
            "@@deep@@",
        )
    ],
]


# -- protocol files (ca3-cam with its default cue_size 5, content_size 10) ---------------------------------

BASE_PROTOCOL = [
    {"op": "learn", "cue": 0, "content": [0, 1, 8, 9], "t": 0},
    {"op": "learn", "cue": 4, "content": [1, 5, 6], "t": 10},
    {"op": "recall_cue", "cue": 0, "t": 20},
    {"op": "recall_content", "content": [6], "t": 30},
]

PROTOCOL_MUTATIONS = [
    whole({}, "protocol is an object"),
    whole(None, "protocol is null"),
    whole("learn", "protocol is a string"),
    whole("@@deep@@", "protocol is 5,000 nested lists"),
    whole([5], "operation is a number"),
    whole([[]], "operation is a list"),
    *[set_value((0, "op"), value) for value in ("forget", 5, None, "", "learn\nrecall")],
    *[set_value((0, "cue"), value) for value in (5, -1, 2.5, "0", NAN, INF, None, [0], 2**63, "@@long-integer@@")],
    *[
        set_value((0, "content"), value)
        for value in ([], [10], [-1], [0, 0], [0.5], ["a"], 5, "0,1", [[0]], [NAN], [2**63], "@@deep@@")
    ],
    *[
        set_value((1, "t"), value)
        for value in (1, 5, -10, 10.5, NAN, INF, "10", None, 1e300, 2**63, "@@long-integer@@")
    ],
    *[set_value((0, "t"), value) for value in (-1, NAN, "0", 2.5)],
    *[delete(path) for path in ((0, "op"), (0, "cue"), (0, "content"), (0, "t"), (2, "cue"), (3, "content"))],
    set_value((0, "bogus_field"), 1, "unknown operation field"),
    set_value((2, "content"), [1], "recall_cue with a content"),
    Mutation("operations out of order", lambda p: p.reverse()),
]


# -- run folders given to compare (manifest.json and spikes.json of one side) -----------------------------


def run_folder_mutations(spikes: dict) -> list[tuple[str, Mutation]]:
    """(file, mutation) pairs that make one side of a comparison bad; ``spikes`` is that side's spikes.json."""
    labels = sorted(spikes["populations"])
    first = labels[0]
    size = spikes["populations"][first]["size"]
    manifest = [whole(value, f"manifest is {value!r}") for value in ([], None, 5, "run", [{"model": {}}])]
    manifest += [set_value(("model",), value) for value in ([], "small", 5)]
    manifest += [set_value(("model", "name"), value) for value in ("other", 5, ["small"])]
    manifest.append(whole("@@deep@@", "manifest is 5,000 nested lists"))
    trains = ("populations", first, "spike_times_ms")
    record = [whole(value, f"spikes is {value!r}") for value in ([], None, 5, "spikes", "@@deep@@")]
    record += [set_value(("populations",), value) for value in ([], {}, None, "A", 5)]
    record += [set_value(("populations", first), value) for value in ([], None, 5, {"size": size})]
    record += [
        set_value(("populations", first, "size"), value) for value in (size + 1, -1, 0, 2.5, "3", None, NAN, 2**63)
    ]
    record += [
        set_value(trains, value)
        for value in (
            [[]] * (size + 1),
            [[1.0, [2.0]]] + [[]] * (size - 1),
            [[NAN]] + [[]] * (size - 1),
            [[INF]] + [[]] * (size - 1),
            [[-5.0]] + [[]] * (size - 1),
            [[1e6]] + [[]] * (size - 1),
            [[1e300]] + [[]] * (size - 1),
            [["abc"]] + [[]] * (size - 1),
            "abc",
            5,
            None,
            [1.0] * size,
            [[2.0**63]] + [[]] * (size - 1),
        )
    ]
    record.append(
        Mutation(
            f"population {first} empty (the other side's is not)",
            lambda d: d["populations"][first].update(size=0, spike_times_ms=[]),
        )
    )
    for field in ("dt_ms", "duration_ms"):
        record += [set_value((field,), value) for value in (0, -1, NAN, INF, "abc", None, [1.0], 1e-320)]
        record.append(delete((field,)))
    record += [set_value(("dt_ms",), 2.0, "dt differs from the other side"), delete(("populations",))]
    return [("manifest.json", m) for m in manifest] + [("spikes.json", m) for m in record]


# -- target files (copies of targets/*.yaml) -------------------------------------------------------------

TARGET_FIELDS = {
    "spinnaker": [
        "neurons_per_core",
        "timestep_ms",
        "application_cores",
        "ring_buffer_bits",
        "delay_extension_factor",
        "board_version",
        "kind",
    ],
    "loihi": ["max_delay_ticks", "neuro_cores", "neurons_per_core", "synapses_per_core", "kind"],
}
"""Fields each kind of target needs (its toolchain reads them)."""

TARGET_BAD_VALUES = [
    "abc",
    "",
    [1],
    {"a": 1},
    None,
    True,
    NAN,
    INF,
    -INF,
    -1,
    0,
    2.5,
    -1e300,
    "@@long-integer@@",
    "@@deep@@",
]


@st.composite
def bad_targets(draw, base_targets: dict):
    """A target file named 'mutant', a copy of one in ``base_targets`` (a chip's own, not a variant naming
    a base) broken in one field."""
    base = draw(st.sampled_from(sorted(name for name, data in base_targets.items() if "base" not in data)))
    data = {**base_targets[base], "name": "mutant"}
    field = draw(st.sampled_from(TARGET_FIELDS[data["kind"]]))
    mutations = [delete((field,))]
    if field == "kind":
        mutations += [set_value(("kind",), value) for value in ("quantum", 5, None, ["spinnaker"], "@@deep@@")]
    else:
        mutations += [
            set_value((field,), value) for value in TARGET_BAD_VALUES if not (field == "timestep_ms" and value == 2.5)
        ]
    mutations += [whole(value, f"target is {value!r}") for value in ([], None, "spinn3", 5)]
    mutations += [set_value(("name",), value) for value in ([], None, 5, {"a": 1})]
    mutation = draw(st.sampled_from(mutations))
    return BadFile(serialize(mutation.apply(data), "yaml"), ".yaml", Mutation(f"{base}: {mutation!r}", None))


# -- command-line values ---------------------------------------------------------------------------------

DURATIONS = ["-5", "nan", "inf", "-inf", "1e400", "-0.0001"]
HUGE_DURATIONS = ["1e12", "1e300", "1.7976931348623157e308"]
THRESHOLD_OPTIONS = {
    "--min-same-tick": ["nan"],
    "--min-within-one": ["nan"],
    "--max-rate-error": ["nan"],
    "--tau": ["nan", "inf"],
}
BACKEND_OPTIONS = ["mode=quantum", "bogus=1", "mode", "=x", "mode=[1, 2]"]
"""Values of the options' own types (floats, integers) that the program must refuse itself."""

OPTION_SYNTAX = {
    "--duration": ["abc", "", "0x10", "5 ms"],
    "--seed": ["-1", "abc", "2.5", "", "nan", LONG_INTEGER],
    "--min-same-tick": ["-0.1", "1.5", "inf", "abc", ""],
    "--max-rate-error": ["-1", "abc", ""],
    "--tau": ["-5", "0", "-inf", "abc", ""],
}
"""Values that are not of the option's type or range at all (refused while the command line is parsed)."""


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path
