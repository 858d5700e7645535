"""Connectors: rules that produce connection index arrays, never one object per synapse.

``connect(n_pre, n_post, rng)`` returns ``(pre, post)`` arrays of local indices (within the projection's pre
and post slices; int32 where they fit, ``values.index_dtype``). Generated connections are ordered by
``(pre, post)``; a from-list keeps its own order. Per-synapse weights and delays follow that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodeploy.description import values
from neurodeploy.description.resources import BYTES_PER_GENERATED_SYNAPSE, count_text, refuse_above_limit
from neurodeploy.errors import ValidationError


def _without_self(pre: np.ndarray, post: np.ndarray, allow_self: bool):
    if allow_self:
        return pre, post
    keep = pre != post
    return pre[keep], post[keep]


class Connector:
    kind: str
    FIELDS: tuple = ()

    def connect(self, n_pre: int, n_post: int, rng: np.random.Generator):
        """The connections, refused before generating them when they would not fit the memory limit."""
        expected = self.expected_count(n_pre, n_post)
        refuse_above_limit(
            expected * BYTES_PER_GENERATED_SYNAPSE, f"connector {self.kind}", None, f"{count_text(expected)} synapses"
        )
        return self.generate(n_pre, n_post, rng)

    def expected_count(self, n_pre: int, n_post: int) -> float:
        """How many connections ``connect`` makes (a little above the mean for random ones), computed
        without making them."""
        raise NotImplementedError

    def generate(self, n_pre: int, n_post: int, rng: np.random.Generator):
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"kind": self.kind, **{name: values.to_plain(getattr(self, name)) for name in self.FIELDS}}


@dataclass(eq=False)
class OneToOne(Connector):
    """Pre ``i`` to post ``i``; both sides must have the same size."""

    kind = "one_to_one"

    def expected_count(self, n_pre, n_post):
        return float(min(n_pre, n_post))

    def generate(self, n_pre, n_post, rng):
        if n_pre != n_post:
            raise ValidationError(
                "connector one_to_one", None, f"needs pre and post of the same size, got {n_pre} and {n_post}"
            )
        index = np.arange(n_pre, dtype=values.index_dtype(n_pre))
        return index, index.copy()


@dataclass(eq=False)
class AllToAll(Connector):
    """Every pre to every post; without self-connections, pairs with equal local index are left out
    (whether or not pre and post are the same population)."""

    kind = "all_to_all"
    allow_self_connections: bool = True
    FIELDS = ("allow_self_connections",)

    def __post_init__(self):
        values.boolean(self.allow_self_connections, "connector all_to_all", "allow_self_connections")

    def expected_count(self, n_pre, n_post):
        return float(n_pre) * n_post - (0 if self.allow_self_connections else min(n_pre, n_post))

    def generate(self, n_pre, n_post, rng):
        pre = np.repeat(np.arange(n_pre, dtype=values.index_dtype(n_pre)), n_post)
        post = np.tile(np.arange(n_post, dtype=values.index_dtype(n_post)), n_pre)
        return _without_self(pre, post, self.allow_self_connections)


@dataclass(eq=False)
class FixedProbability(Connector):
    """Each pair independently with probability ``p``, drawn from ``seed`` (or, when ``seed`` is
    None, from the network's seed and the projection's label)."""

    kind = "fixed_probability"
    p: float = 0.1
    allow_self_connections: bool = True
    seed: int | None = None
    FIELDS = ("p", "allow_self_connections", "seed")
    _made = None  # the last seeded draw: its arguments and (pre, post), read-only

    def __post_init__(self):
        where = "connector fixed_probability"
        self.p = values.number(self.p, None, where, "p")
        if not 0.0 <= self.p <= 1.0:
            raise ValidationError(where, "p", f"must be a probability in [0, 1], got {self.p:g}")
        values.boolean(self.allow_self_connections, where, "allow_self_connections")
        if self.seed is not None:
            self.seed = values.integer(self.seed, where, "seed", minimum=0)

    def expected_count(self, n_pre, n_post):
        mean = float(n_pre) * n_post * self.p
        return mean + 6.0 * np.sqrt(mean)

    def generate(self, n_pre, n_post, rng):
        key = (n_pre, n_post, self.p, self.allow_self_connections, self.seed)
        if self.seed is not None and self._made is not None and self._made[0] == key:
            return self._made[1]
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        positions = _bernoulli_positions(n_pre * n_post, self.p, rng)
        made = _without_self(*_grid_indices(positions, n_pre, n_post), self.allow_self_connections)
        del positions
        if self.seed is not None:  # a seeded draw is made once (a model counting it, the network, its stages)
            for array in made:
                array.flags.writeable = False
            self._made = (key, made)
        return made


def _grid_indices(positions: np.ndarray, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) of increasing positions in the ``n_pre x n_post`` grid, without dividing: each row's
    positions are found by searching the row starts, so pre is each row's index repeated and post a
    position less its row's start (64-bit division is what a split by ``%`` and ``//`` costs)."""
    starts = np.arange(n_pre + 1, dtype=np.int64)
    starts *= n_post
    counts = np.diff(np.searchsorted(positions, starts))
    pre = np.repeat(np.arange(n_pre, dtype=values.index_dtype(n_pre)), counts)
    post = np.empty(positions.size, dtype=values.index_dtype(n_post))
    for first in range(0, positions.size, GRID_BLOCK):  # the row starts' temporaries stay small
        last = first + GRID_BLOCK
        row_starts = pre[first:last].astype(np.int64)
        row_starts *= n_post
        np.subtract(positions[first:last], row_starts, out=post[first:last], casting="unsafe")
    return pre, post


GRID_BLOCK = 1 << 20


def _bernoulli_positions(total: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of successes in ``total`` Bernoulli(p) trials, via geometric gaps: memory is
    proportional to the number of connections, not to ``n_pre * n_post``. A gap reaching past
    ``total`` ends the draw (for a tiny ``p`` the generator returns gaps that would overflow a sum)."""
    if p == 0.0 or total == 0:
        return np.empty(0, dtype=np.int64)
    if p == 1.0:
        return np.arange(total, dtype=np.int64)
    expected = total * p
    chunk = int(expected + 6.0 * np.sqrt(expected) + 64)
    pieces, last = [], -1
    exact = total < 2**53 and chunk * (total + 1) < 2**63  # a chunk's running sum fits int64 (and float64 below total)
    while True:
        gaps = rng.geometric(p, size=chunk)
        np.minimum(gaps, total + 1, out=gaps)
        # Where the positions pass ``total``: found on the running sum in place of the gaps where it cannot
        # wrap round, else in float64; the positions before it are summed exactly (each below ``total``).
        if exact:
            positions = np.cumsum(gaps, out=gaps)
            inside = int(np.searchsorted(positions, total - 1 - last, side="right"))
            positions = positions[:inside]
        else:
            inside = int(np.searchsorted(np.cumsum(gaps, dtype=np.float64), total - 1 - last, side="right"))
            positions = np.cumsum(gaps[:inside], out=gaps[:inside])
        positions += last
        pieces.append(positions[: np.searchsorted(positions, total)])  # increasing: those below ``total``
        if inside < chunk:
            return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        last = int(positions[-1])


@dataclass(eq=False)
class FromList(Connector):
    """Explicit connections: ``pre[k] -> post[k]`` (local indices)."""

    kind = "from_list"
    pre: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    post: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    FIELDS = ("pre", "post")

    def __post_init__(self):
        where = "connector from_list"
        for name in self.FIELDS:
            try:
                array = np.asarray(getattr(self, name))
            except ValueError:  # ragged nested lists
                raise ValidationError(where, name, "expected a flat list of indices, got nested lists") from None
            if array.ndim != 1:
                raise ValidationError(where, name, f"expected a flat list of indices, got shape {array.shape}")
        if len(self.pre) != len(self.post):
            raise ValidationError(where, "post", f"has {len(self.post)} entries but pre has {len(self.pre)}")

    def expected_count(self, n_pre, n_post):
        return float(len(self.pre))

    def generate(self, n_pre, n_post, rng):
        where = "connector from_list"
        return (
            values.index_array(self.pre, where, "pre", n_pre, f"a pre side of {n_pre} neurons"),
            values.index_array(self.post, where, "post", n_post, f"a post side of {n_post} neurons"),
        )


CONNECTORS: dict[str, type[Connector]] = {cls.kind: cls for cls in (OneToOne, AllToAll, FixedProbability, FromList)}


def connector_from_dict(data, where: str) -> Connector:
    if not isinstance(data, dict) or "kind" not in data:
        raise ValidationError(where, "connector", "expected a mapping with a 'kind'")
    kind = data["kind"]
    cls = CONNECTORS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError(where, "connector.kind", f"unknown connector {kind!r} (known: {', '.join(CONNECTORS)})")
    values.check_keys(data, ("kind",) + cls.FIELDS, f"{where} connector")
    try:
        return cls(**{name: data[name] for name in cls.FIELDS if name in data})
    except ValidationError as error:  # the connector names itself, not the projection it belongs to
        raise ValidationError(
            where, f"connector.{error.field}" if error.field else "connector", error.message
        ) from None
