"""The record of one corpus case and the decorator that registers it."""

import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List

import numpy as np

SIZES = ("tiny", "small", "medium")

CASES: List["Case"] = []


@dataclass(frozen=True)
class Case:
    """One loop function of the corpus.

    - ``fn``: the plain Python function, called as ``fn(*args)``;
    - ``build(n, rng)``: fresh arguments for the size parameter ``n``;
    - ``sizes``: ``{"tiny": n, "small": n, "medium": n}``; tiny is what the
      differential test uses, small runs in CPython in a few milliseconds,
      medium in roughly 20 to 200 ms;
    - ``notes``: what the case is about, in a few words.
    """

    name: str
    style: str
    fn: Callable
    build: Callable
    sizes: Dict[str, int]
    notes: str = ""

    def make(self, size="small", rng=None):
        """Fresh arguments for ``size``; with no ``rng``, the same ones at
        every call (a generator seeded from the case's name)."""
        if rng is None:
            rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return tuple(self.build(self.sizes[size], rng))


def style(name):
    """The decorator of one style's module: ``@case(make, sizes, notes)``
    registers the function it decorates and returns it unchanged."""

    def case(make, sizes, notes=""):
        tiny, small, medium = sizes

        def register(fn):
            CASES.append(Case(fn.__name__, name, fn, make, {"tiny": tiny, "small": small, "medium": medium}, notes))
            return fn

        return register

    return case
