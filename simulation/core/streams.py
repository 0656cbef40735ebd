"""Named random streams: one generator per purpose, the same whatever else changes.

Every random quantity in the model (arrivals of one referral stream, priorities, one
service's lengths of stay, step-down routes, ...) comes from its own stream, named by
purpose. Replication ``r`` of a scenario with seed ``s`` gives the stream called
``name`` the seed sequence ``SeedSequence(s, spawn_key=(r, id(name)))`` where ``id`` is a
stable hash of the name. Streams are looked up by name, never by position, so adding a
pathway or a unit does not shift the numbers any other purpose sees: two scenarios that
differ only in capacity or policy see the same patients (common random numbers).

Draws are served from buffers filled a block at a time, and each draw uses exactly one
uniform number, so that draws stay in step between scenarios.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Iterator

import numpy as np

BLOCK = 256


def stream_key(name: str) -> int:
    """Stable 63-bit identifier of a stream name (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


def generator(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for the purpose ``name`` in one replication."""
    sequence = np.random.SeedSequence(seed, spawn_key=(replication, stream_key(name)))
    return np.random.Generator(np.random.PCG64(sequence))


def _blocks(
    make_rng: Callable[[], np.random.Generator],
    transform: Callable[[np.ndarray], np.ndarray] | None,
) -> Iterator[list[float]]:
    """Blocks of ``transform(uniform)`` values, drawn ``BLOCK`` uniforms at a time.

    The generator is made at the first draw, not before: a model asks for every stream
    it might use, and many (a readmission's route through a rarely used service, say)
    are never drawn from in a replication.
    """
    rng = make_rng()
    while True:
        u = rng.random(BLOCK)
        yield (u if transform is None else transform(u)).tolist()


Stream = Callable[[], float]
"""A buffered stream of values: calling it returns the next one."""


def make_stream(
    make_rng: Callable[[], np.random.Generator],
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Stream:
    """A stream of ``transform(uniform)`` values from the generator ``make_rng()``.

    ``transform`` maps an array of uniforms in [0, 1) to values (a quantile function,
    or the identity for plain uniforms), one uniform each.

    The model draws several values per referral, so a draw is kept to one C-level call:
    the stream is the ``__next__`` of the chained blocks, with no Python frame per value
    except once per block. (A ``functools.partial`` subclass would cost twice as much a
    call: subclasses lose the fast calling convention.)
    """
    return itertools.chain.from_iterable(_blocks(make_rng, transform)).__next__


class StreamFactory:
    """Makes the named streams of one replication."""

    def __init__(self, seed: int, replication: int):
        self.seed = seed
        self.replication = replication
        self.names: set[str] = set()

    def uniform(self, name: str) -> Stream:
        """A stream of uniform numbers in [0, 1)."""
        return self.values(name, None)

    def values(self, name: str, transform: Callable[[np.ndarray], np.ndarray] | None) -> Stream:
        """A stream of ``transform(uniform)`` values; each name may be used once."""
        if name in self.names:
            raise ValueError(f"random stream {name!r} requested twice")
        self.names.add(name)
        return make_stream(
            functools.partial(generator, self.seed, self.replication, name), transform
        )

    def rng(self, name: str) -> np.random.Generator:
        """A raw generator for purposes that need more than one uniform per draw."""
        if name in self.names:
            raise ValueError(f"random stream {name!r} requested twice")
        self.names.add(name)
        return generator(self.seed, self.replication, name)
