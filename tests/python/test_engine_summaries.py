"""What the engine hands to Python about a nest stays small on a long body:
the static summary writes out the first pairs of references left for run
time and counts them all; the plan's conversion to dictionaries keeps every
edge (or the first max_edges of them, with a count of the rest). No timing
is asserted (see bench/bench_big_bodies.py)."""

import ast
import re
import textwrap

import numpy as np
import pytest

_L = pytest.importorskip("_loopscope")

if not hasattr(_L, "analysis_register"):
    pytest.skip("engine built without the analysis bindings", allow_module_level=True)

SKELETON_SHOWN = 500
EDGE_KEYS = [
    "kind",
    "src",
    "dst",
    "src_id",
    "dst_id",
    "src_line",
    "dst_line",
    "variable",
    "src_ref",
    "dst_ref",
    "loops",
    "direction",
    "distance",
    "carrier",
    "test",
]


def register(src):
    src = textwrap.dedent(src).strip() + "\n"
    return _L.analysis_register(ast.parse(src).body[0], src)


def stencil(n, size=24):
    body = "\n".join(
        f"        A{s % 8}[i, j] = A{(s + 1) % 8}[i, j-1] * 0.5 + B[i+1, j] - B[i, j+1] + c" for s in range(n)
    )
    src = f"for i in range(1, {size - 1}):\n    for j in range(1, {size - 1}):\n{body}\n"
    env = {f"A{k}": np.random.default_rng(k).random((size, size)) for k in range(8)}
    env["B"] = np.random.default_rng(99).random((size, size))
    env["c"] = 0.25
    return register(src), env


def all_pairs(references, settled=lambda a, b: False):
    """Every pair of references (in order, at least one write, not settled)
    as the static summary writes it, from its list of references."""
    refs = []
    for line in references:
        m = re.match(r"(S\d+) (writes|reads) (.*): (?:affine|not affine.*)$", line)
        assert m, line
        refs.append((m.group(1), m.group(2) == "writes", m.group(3)))
    out = []
    for i, (la, wa, ta) in enumerate(refs):
        for j in range(i, len(refs)):
            lb, wb, tb = refs[j]
            if not (wa or wb) or settled((la, wa, ta), (lb, wb, tb)):
                continue
            xa, xb = ta.split("[")[0], tb.split("[")[0]
            note = "" if xa == xb else f" (only if {xa} and {xb} share memory)"
            out.append(f"{la} {'writes' if wa else 'reads'} {ta} / {lb} {'writes' if wb else 'reads'} {tb}{note}")
    return out


@pytest.mark.parametrize("statements", [3, 40])
def test_skeleton_shows_the_first_pairs_and_counts_them_all(statements):
    nid, _env = stencil(statements)
    st = _L.analysis_info(nid)["static"]
    want = all_pairs(st["references"])
    assert st["skeleton_pairs"] == len(want)
    assert st["skeleton"] == want[:SKELETON_SHOWN]
    assert st["for_run_time"][-1] == f"{len(want)} pairs of references to test with the bound values"
    if statements == 40:
        assert len(want) > SKELETON_SHOWN


def test_skeleton_count_leaves_out_the_pairs_settled_statically():
    nid = register("""
        for i in range(n):
            A[0] = A[1] + x[i]
            A[2] = A[0] * 2.0 + A[3]
            y[i] = A[2]
        """)
    st = _L.analysis_info(nid)["static"]

    def settled(a, b):  # same array, constant subscripts that differ (ZIV)
        ca, cb = re.fullmatch(r"A\[(\d+)\]", a[2]), re.fullmatch(r"A\[(\d+)\]", b[2])
        return bool(ca and cb and ca.group(1) != cb.group(1))

    want = all_pairs(st["references"], settled)
    assert st["settled"]
    assert st["skeleton"] == want
    assert st["skeleton_pairs"] == len(want)
    assert st["for_run_time"][-1].startswith(f"{len(want)} pairs")


def test_plan_keeps_every_edge_or_the_first_max_edges():
    nid, env = stencil(40)
    full = _L.analysis_run(nid, env)
    edges = full["edges"]
    assert len(edges) == full["edges_total"] == 280 and full["edges_left_out"] == 0
    assert all(list(e) == EDGE_KEYS for e in edges)
    for cap in (0, 100, 280, 5000):
        part = _L.analysis_run(nid, env, max_edges=cap)
        shown = min(cap, 280)
        assert part["edges"] == edges[:shown]
        assert part["edges_total"] == 280 and part["edges_left_out"] == 280 - shown
        rest = {k: v for k, v in part.items() if k not in ("edges", "edges_left_out", "timing_us", "cache_hit")}
        assert rest == {k: v for k, v in full.items() if k not in ("edges", "edges_left_out", "timing_us", "cache_hit")}
    # Each edge has lists of its own: changing one changes no other.
    first, second = edges[0], edges[1]
    assert first["loops"] == second["loops"] and first["loops"] is not second["loops"]
    first["loops"].append("x")
    first["distance"].append(7)
    assert second["loops"] == ["i", "j"] and 7 not in second["distance"]
    assert _L.analysis_run(nid, env)["edges"][0]["loops"] == ["i", "j"]


def test_plan_of_an_unbound_nest_has_the_counts():
    nid = register("""
        for i in range(n):
            y[i] = x[i]
        """)
    r = _L.analysis_run(nid, {"n": 3, "x": [1.0, 2.0, 3.0], "y": np.zeros(3)})
    assert r["decline"] and r["edges"] == [] and r["edges_total"] == 0 and r["edges_left_out"] == 0
