"""A corpus of notebook cells for differential tests of the Loopscope kernel.

Each module of the package exports ``CASES``: a list of ``(name, cells)``,
where ``cells`` is a list of cell sources that run in order in a fresh
namespace. The cells are written in the styles of teaching notebooks on GPU
programming, numeric scripts, Numba example programs, PolyBench-like kernels
and ordinary notebook code. Every cell is small enough to run in CPython in
well under 0.2 s; none reads input, none depends on timing, none uses
``%loopscope`` (the harness sets the mode).

``all_cases()`` returns ``[(qualified_name, cells)]`` with names of the form
``module.case``.
"""

import importlib
import textwrap

MODULES = (
    "plain",
    "declined",
    "functions",
    "shadowing",
    "errors",
    "semantics",
    "interactions",
    "programs",
    "fresh_arrays",
)


def _clean(cell):
    return textwrap.dedent(cell).strip("\n") + "\n"


def all_cases():
    out = []
    seen = set()
    for mod_name in MODULES:
        mod = importlib.import_module(f"{__name__}.{mod_name}")
        for name, cells in mod.CASES:
            full = f"{mod_name}.{name}"
            if full in seen:
                raise ValueError(f"duplicate case name {full}")
            seen.add(full)
            if isinstance(cells, str):
                cells = [cells]
            out.append((full, [_clean(c) for c in cells]))
    return out
