"""Runs the loop nests of a plain Python function through the GPU variant
(emulator or device), statement by statement, without the kernel's
rewriter: each top-level `for` of the function body is registered with the
analysis and handed to _loopscope.cuda_run; other statements run as Python.
"""

import ast
import copy
import inspect
import textwrap

import numpy as np

import _loopscope


def function_nests(fn):
    src = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(src)
    fdef = tree.body[0]
    return src, fdef


def run_function(fn, args, target="emulator", on_nest=None):
    """Runs fn(*args) with its top-level loops on the GPU variant.

    Returns (env, outcomes): the final variables and, per top-level loop,
    the cuda_run outcome dict (with "nest_id").
    """
    src, fdef = function_nests(fn)
    env = dict(fn.__globals__)
    params = [a.arg for a in fdef.args.args]
    env.update(zip(params, args))
    outcomes = []
    for stmt in fdef.body:
        if isinstance(stmt, ast.For):
            nid = _loopscope.analysis_register(stmt, src)
            local = with_shapes({k: v for k, v in env.items() if not k.startswith("__")})
            if on_nest is not None:
                on_nest(nid, local)
            out = _loopscope.cuda_run(nid, local, target)
            out["nest_id"] = nid
            outcomes.append(out)
            if out["ran"]:
                env.update(out["scalars"])
                continue
        code = compile(ast.Module(body=[stmt], type_ignores=[]), "<nest>", "exec")
        exec(code, env)
    return env, outcomes


def with_shapes(env):
    """env plus the values the front end reads through expressions: for every
    array A, "A.shape[k]" and "len(A)" (what loopscope's rewriter computes)."""
    out = dict(env)
    for k, v in env.items():
        if isinstance(v, np.ndarray) and k.isidentifier():
            for d, n in enumerate(v.shape):
                out[f"{k}.shape[{d}]"] = n
            if v.ndim:
                out[f"len({k})"] = v.shape[0]
    return out


def run_source(src, env, target="emulator"):
    """Registers the first statement of src (a for loop) and runs it on the
    GPU variant; falls back to Python like the kernel does. Returns the
    outcome dict."""
    node = ast.parse(src).body[0]
    nid = _loopscope.analysis_register(node, src)
    out = _loopscope.cuda_run(nid, with_shapes(env), target)
    out["nest_id"] = nid
    if out["ran"]:
        env.update(out["scalars"])
    else:
        exec(compile(src, "<nest>", "exec"), env)
    return out


def python_reference(src, env):
    exec(compile(src, "<nest>", "exec"), env)
    return env


def clone(env):
    return {
        k: (v.copy() if isinstance(v, np.ndarray) else v if inspect.ismodule(v) else copy.copy(v))
        for k, v in env.items()
    }


def same(a, b):
    """Bit-identical arrays (NaNs equal) or equal scalars of the same kind."""
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a.view(np.uint8), b.view(np.uint8))
        )
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
            fa, fb = float(a), float(b)
            return (fa == fb and np.signbit(fa) == np.signbit(fb)) or (fa != fa and fb != fb)
    return a == b
