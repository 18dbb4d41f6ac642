"""A corpus of loop functions written in the styles of public teaching and
example material: GPU-programming lessons (``teaching_gpu``), Numba-style
example programs (``numba_examples``), scientific scripts
(``scientific``), image processing (``image``) and PolyBench/BLAS-like
kernels (``polybench_like``), dynamic programming from algorithm textbooks
(``dynamic_programming``) and signal-processing and finance notebooks
(``signal_finance``).

Unlike share/polybench.py, the corpus is not chosen to fit the engine: it
keeps what such code really contains (helper functions, ``while``,
``break``/``continue``, for-else, ``for x in arr``, ``enumerate``/``zip``,
uint8 and uint16 images, complex numbers, random numbers, indirect
subscripts, NumPy functions on scalars, slices in loop bodies, ``min()`` in
loop bounds, tuple assignment), so that the share of loop nests that run
natively measures coverage honestly (bench/bench_corpus.py,
docs/corpus.md). Every function is deterministic given its arguments
(random-number cases seed inside) and is checked against CPython by
tests/python/test_corpus.py.

Import with ``share/`` on ``sys.path``::

    import corpus
    for c in corpus.all_cases():
        args = c.make("small")
        c.fn(*args)
"""

from . import (  # noqa: F401  (registration)
    dynamic_programming,
    image,
    numba_examples,
    polybench_like,
    scientific,
    signal_finance,
    teaching_gpu,
)
from ._registry import CASES, SIZES, Case

STYLES = (
    "teaching_gpu",
    "numba_examples",
    "scientific",
    "image",
    "polybench_like",
    "dynamic_programming",
    "signal_finance",
)

__all__ = ["Case", "SIZES", "STYLES", "all_cases", "get", "names"]

_BY_NAME = {c.name: c for c in CASES}
assert len(_BY_NAME) == len(CASES), "two corpus cases share a name"


def all_cases():
    """Every case, style by style, in source order."""
    return sorted(CASES, key=lambda c: STYLES.index(c.style))


def get(name):
    return _BY_NAME[name]


def names():
    return [c.name for c in all_cases()]
