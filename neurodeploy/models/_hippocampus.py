"""Shared by the hippocampal memory families: cell parameters, the operation protocol, the decoder
of OUT spikes, and the ideal associative memory the answers are judged against.

Citation: D. Casanueva-Morato, A. Ayuso-Martinez, J. P. Dominguez-Morales, A. Jimenez-Fernandez,
G. Jimenez-Moreno, "Bio-inspired computational memory model of the Hippocampus: an approach to a
neuromorphic spike-based Content-Addressable Memory", Neural Networks 178, 106474 (2024),
doi:10.1016/j.neunet.2024.106474.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurodeploy.description import values
from neurodeploy.description.semantics import MAX_TICKS
from neurodeploy.errors import ValidationError
from neurodeploy.protocols import OperationProtocol
from neurodeploy.results import SpikeRecord

# Every cell is IF_curr_exp with these; "slow" and "fast" differ in cm and tau_m (network_config.json).
COMMON = {
    "i_offset": 0.0,
    "tau_refrac": 1.0,
    "tau_syn_E": 0.3,
    "tau_syn_I": 0.3,
    "v_rest": -60.0,
    "v_reset": -60.0,
    "v_thresh": -57.0,
}
SLOW = {**COMMON, "cm": 0.27, "tau_m": 3.0}
FAST = {**COMMON, "cm": 0.14, "tau_m": 0.5}
INITIAL = {"v": -60.0}

# Both STDP projections of the original: sPyNNaker's pair rule, A+ and A- in nA (absolute).
STDP_PARAMETERS = {"tau_plus": 3.0, "tau_minus": 3.0, "A_plus": 6.0, "A_minus": 6.0, "w_min": 0.0, "w_max": 6.0}

OPERATION_FIELDS = {
    "learn": ("op", "t", "cue", "content"),
    "recall_cue": ("op", "t", "cue"),
    "recall_content": ("op", "t", "content"),
}
HOLD_TICKS = {"learn": 3, "recall_cue": 1, "recall_content": 1}


@dataclass(frozen=True)
class Operation:
    index: int
    op: str
    t: int
    cue: int | None = None
    content: tuple[int, ...] = ()

    def describe(self) -> str:
        return f"protocol operation {self.index} ({self.op} at t={self.t} ms)"

    def to_dict(self) -> dict:
        data = {"op": self.op, "t": self.t}
        if self.cue is not None:
            data["cue"] = self.cue
        if self.op != "recall_cue":
            data["content"] = list(self.content)
        return data


@dataclass(frozen=True)
class Timing:
    """A model's operation timing, in 1 ms ticks after an operation's start t0.

    A learn's stored memory comes out at ``first`` and ``first + 2``, the forgotten bits at
    ``first + 1``; a recall gives the presented part at ``first`` and the answer at ``first + 1``.
    ``spacing``: least time from an operation to the next one.
    """

    first: int
    spacing: dict


class Layout:
    """Where cues and content bits sit on IN and OUT."""

    def __init__(self, cue_size: int, content_size: int):
        self.cue_size, self.content_size = cue_size, content_size

    cue_width: int

    def cue_inputs(self, cue: int) -> list[int]:
        raise NotImplementedError

    def read_cues(self, cue_neurons: set[int]) -> list[int]:
        raise NotImplementedError


class OneHotLayout(Layout):
    """Cue ``k`` is IN/OUT neuron ``k``; content bit ``j`` is neuron ``cue_size + j``."""

    @property
    def cue_width(self) -> int:
        return self.cue_size

    def cue_inputs(self, cue):
        return [cue]

    def read_cues(self, cue_neurons):
        return sorted(cue_neurons)


class IdealMemory:
    """The oracle: one content per cue; relearning a cue replaces its content and forgets the bits
    not in the new one; recall by content returns every cue whose content shares a bit with the query."""

    def __init__(self):
        self.contents: dict[int, set[int]] = {}

    def answer(self, operation: Operation) -> dict:
        query = set(operation.content)
        if operation.op == "learn":
            old = self.contents.get(operation.cue, set())
            self.contents[operation.cue] = query
            stored = {"cue": [operation.cue], "content": sorted(query)}
            return {
                **stored,
                "forgotten": sorted(old - query),
                "stray_cues": [],
                "cue_again": stored["cue"],
                "content_again": stored["content"],
            }
        if operation.op == "recall_cue":
            return {
                "cue": [operation.cue],
                "content": sorted(self.contents.get(operation.cue, set())),
                "stray_content": [],
                "stray_cues": [],
            }
        return {
            "content": sorted(query),
            "cues": sorted(k for k, bits in self.contents.items() if bits & query),
            "stray_cues": [],
            "stray_content": [],
        }


# Which OUT part is read at which tick after ``first`` for each answer field.
READOUT = {
    "learn": {
        "cue": (0, "cue"),
        "content": (0, "content"),
        "forgotten": (1, "content"),
        "stray_cues": (1, "cue"),
        "cue_again": (2, "cue"),
        "content_again": (2, "content"),
    },
    "recall_cue": {
        "cue": (0, "cue"),
        "stray_content": (0, "content"),
        "content": (1, "content"),
        "stray_cues": (1, "cue"),
    },
    "recall_content": {
        "content": (0, "content"),
        "stray_cues": (0, "cue"),
        "cues": (1, "cue"),
        "stray_content": (1, "content"),
    },
}


class CamProtocol(OperationProtocol):
    """Operations -> input spikes, output spikes -> answers, judged against :class:`IdealMemory`. ``source``
    and ``output`` are the labels of the model's input spike source and output population."""

    def __init__(
        self,
        model: str,
        layout: type[Layout],
        timing: Timing,
        operations=tuple(OPERATION_FIELDS),
        source: str = "IN",
        output: str = "OUT",
    ):
        self.model, self.layout, self.timing, self.operations = model, layout, timing, operations
        self.source, self.output = source, output

    def _layout(self, parameters) -> Layout:
        return self.layout(parameters["cue_size"], parameters["content_size"])

    def parse(self, data, parameters):
        layout = self._layout(parameters)
        if not isinstance(data, list):
            raise ValidationError("protocol", None, "expected a JSON list of operations")
        operations = [self._operation(index, item, layout) for index, item in enumerate(data)]
        for current, following in zip(operations, operations[1:]):
            gap, needed = following.t - current.t, self.timing.spacing[current.op]
            if gap < needed:
                raise ValidationError(
                    current.describe(),
                    "t",
                    f"the next operation ({following.op} at t={following.t} ms) comes {gap} ms "
                    "later; "
                    f"{self.model} needs {needed} ms after a {current.op}",
                )
        return operations

    def _operation(self, index, item, layout: Layout) -> Operation:
        where = f"protocol operation {index}"
        if not isinstance(item, dict) or "op" not in item:
            raise ValidationError(where, "op", "expected an object with an 'op'")
        op = item["op"]
        if not isinstance(op, str) or op not in self.operations:
            raise ValidationError(where, "op", f"{self.model} runs {', '.join(self.operations)}; got {op!r}")
        values.check_keys(item, OPERATION_FIELDS[op], where, required=OPERATION_FIELDS[op])
        t = values.integer(item["t"], where, "t", minimum=0, maximum=MAX_TICKS)
        where = f"protocol operation {index} ({op} at t={t} ms)"
        cue = None
        if "cue" in item:
            cue = values.integer(item["cue"], where, "cue", minimum=0)
            if cue >= layout.cue_size:
                raise ValidationError(
                    where, "cue", f"{cue} is out of range: cue_size is {layout.cue_size} (0..{layout.cue_size - 1})"
                )
        content = ()
        if "content" in item:
            if not isinstance(item["content"], list):
                raise ValidationError(where, "content", "expected a list of content-bit indices")
            content = tuple(values.integer(bit, where, "content", minimum=0) for bit in item["content"])
            if any(bit >= layout.content_size for bit in content):
                raise ValidationError(
                    where,
                    "content",
                    f"bit {max(content)} is out of range: content_size is "
                    f"{layout.content_size} (0..{layout.content_size - 1})",
                )
            if len(set(content)) != len(content):
                raise ValidationError(where, "content", "repeats a bit")
            if not content:
                raise ValidationError(
                    where,
                    "content",
                    "needs at least one bit"
                    + (
                        ""
                        if op == "recall_content"
                        else ": the network cannot store an empty content (it would "
                        "forget the cue's content on recall by cue but keep its cue on recall by content)"
                    ),
                )
        return Operation(index, op, t, cue, tuple(sorted(content)))

    def stimulus(self, operations, parameters):
        layout = self._layout(parameters)
        trains = [[] for _ in range(layout.cue_width + layout.content_size)]
        for operation in operations:
            neurons = layout.cue_inputs(operation.cue) if operation.cue is not None else []
            neurons += [layout.cue_width + bit for bit in operation.content]
            for neuron in neurons:
                trains[neuron] += [float(operation.t + k) for k in range(HOLD_TICKS[operation.op])]
        return {self.source: trains}

    def duration_ms(self, operations):
        return float(operations[-1].t + 10) if operations else 10.0

    def decode(self, operations, spikes: SpikeRecord, parameters):
        layout = self._layout(parameters)
        fired: dict[int, set[int]] = {}
        for neuron, ticks in enumerate(spikes.ticks(self.output)):
            for tick in ticks.tolist():
                fired.setdefault(tick, set()).add(neuron)
        explained, oracle, answers = set(), IdealMemory(), []
        for operation in operations:
            answer = {}
            for name, (offset, part) in READOUT[operation.op].items():
                tick = operation.t + self.timing.first + offset
                explained.add(tick)
                neurons = fired.get(tick, set())
                if part == "cue":
                    answer[name] = layout.read_cues({n for n in neurons if n < layout.cue_width})
                else:
                    answer[name] = sorted(n - layout.cue_width for n in neurons if n >= layout.cue_width)
            ideal = oracle.answer(operation)
            answers.append({**operation.to_dict(), "answer": answer, "ideal": ideal, "agrees": answer == ideal})
        unexplained = sorted(
            [tick, neuron] for tick, neurons in fired.items() if tick not in explained for neuron in neurons
        )
        by_type = {}
        for item in answers:
            counts = by_type.setdefault(item["op"], {"operations": 0, "agree": 0})
            counts["operations"] += 1
            counts["agree"] += int(item["agrees"])
        return {
            "model": self.model,
            "cue_size": layout.cue_size,
            "content_size": layout.content_size,
            "operations": answers,
            "unexplained_out_spikes": unexplained,
            "summary": {
                "operations": len(answers),
                "agree": sum(int(a["agrees"]) for a in answers),
                "by_type": by_type,
                "all_agree": all(a["agrees"] for a in answers) and not unexplained,
            },
        }

    def table(self, answers):
        rows = [f"{'#':>3} {'t ms':>5}  {'operation':<34} {'answer':<46} ideal"]
        for index, item in enumerate(answers["operations"]):
            operation = _describe_input(item)
            answer, ideal = _describe_answer(item["op"], item["answer"]), _describe_answer(item["op"], item["ideal"])
            verdict = "same" if item["agrees"] else f"DIFFERS: {ideal}"
            rows.append(f"{index:>3} {item['t']:>5}  {operation:<34} {answer:<46} {verdict}")
        summary = answers["summary"]
        parts = ", ".join(f"{op} {c['agree']}/{c['operations']}" for op, c in summary["by_type"].items())
        rows.append(f"agreement with an ideal associative memory: {summary['agree']}/{summary['operations']} ({parts})")
        if answers["unexplained_out_spikes"]:
            rows.append(f"OUT spikes outside every answer window: {answers['unexplained_out_spikes']}")
        return "\n".join(rows)


def _bits(bits) -> str:
    return "{" + ",".join(map(str, bits)) + "}"


def _describe_input(item) -> str:
    if item["op"] == "learn":
        return f"learn cue {item['cue']} = {_bits(item['content'])}"
    if item["op"] == "recall_cue":
        return f"recall by cue {item['cue']}"
    return f"recall by content {_bits(item['content'])}"


def _describe_answer(op, answer) -> str:
    strays = {key: answer[key] for key in ("stray_cues", "stray_content") if answer.get(key)}
    if op == "learn":
        text = f"stored cue {_bits(answer['cue'])} = {_bits(answer['content'])}"
        if answer["forgotten"]:
            text += f", forgot {_bits(answer['forgotten'])}"
        if (answer["cue_again"], answer["content_again"]) != (answer["cue"], answer["content"]):
            text += f", then {_bits(answer['cue_again'])} = {_bits(answer['content_again'])}"
    elif op == "recall_cue":
        text = f"cue {_bits(answer['cue'])} -> {_bits(answer['content'])}"
    else:
        text = f"bits {_bits(answer['content'])} -> cues {_bits(answer['cues'])}"
    return text + "".join(f", {key} {_bits(value)}" for key, value in strays.items())


def paper_testbench(
    cue_size: int, content_size: int, spacing: int = 14, start: int = 1, with_recall_by_content: bool = True
) -> list[dict]:
    """The paper's testbench (exp2): learn every cue, recall each by cue and by each content bit,
    relearn all with complemented content, recall, restore the originals, recall.

    Cue ``i`` stores the binary number ``(i mod (2^m - 2)) + 1`` (bit ``j`` on content neuron ``j``):
    the paper's ``i + 1`` while it fits, never all ones, so that no content or complement is empty.
    """
    if content_size < 2:
        raise ValidationError("testbench", "content_size", "needs at least 2 bits (a content and its complement)")
    full = (1 << content_size) - 1
    original = [(i % (full - 1)) + 1 for i in range(cue_size)]
    operations, t = [], start

    def add(operation):
        nonlocal t
        operations.append({**operation, "t": t})
        t += spacing

    for phase in (original, [full ^ value for value in original], original):
        for cue, value in enumerate(phase):
            add({"op": "learn", "cue": cue, "content": [j for j in range(content_size) if value >> j & 1]})
        for cue in range(cue_size):
            add({"op": "recall_cue", "cue": cue})
        if with_recall_by_content:
            for bit in range(content_size):
                add({"op": "recall_content", "content": [bit]})
    return operations
