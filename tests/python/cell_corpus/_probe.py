"""Runs inside the kernel under test (Loopscope or the plain IPython
reference): a deterministic snapshot of the user's variables after a case,
then a clean namespace and restored modules for the next case.

Imported as a module, so that a case that shadows builtins (``len``,
``sorted``, ``print``...) or rebinds ``np`` cannot disturb the snapshot.
"""

import builtins
import hashlib
import json
import math
import re
import sys

import numpy as np

# IPython's own names in the user namespace (history, output cache, helpers).
_IPYTHON_NAME = re.compile(
    r"^(_|__|___|_i|_ii|_iii|_i\d+|_\d+|_oh|_ih|_dh|In|Out|exit|quit|get_ipython"
    r"|__builtin__|__builtins__|__name__|__doc__|__loader__|__package__|__spec__"
    r"|__warningregistry__)$"
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_MAX_DEPTH = 5
_MAX_ITEMS = 500


class Probe:
    def __init__(self, shell):
        self.ns = shell.user_ns
        self.baseline = set(self.ns)
        self.saved = {m: dict(vars(m)) for m in (math, np, np.random, builtins)}
        self.err = np.geterr()
        self.printopts = np.get_printoptions()
        self.recursion = sys.getrecursionlimit()

    # --- restore --------------------------------------------------------------

    def _restore_modules(self):
        for mod, saved in self.saved.items():
            current = vars(mod)
            for k, v in saved.items():
                if current.get(k, _MISSING) is not v:
                    setattr(mod, k, v)
            if mod is not builtins:
                for k in [k for k in current if k not in saved]:
                    delattr(mod, k)
        np.seterr(**self.err)
        np.set_printoptions(**self.printopts)
        sys.setrecursionlimit(self.recursion)

    def user_names(self):
        return sorted(k for k in self.ns if k not in self.baseline and not _IPYTHON_NAME.match(k))

    def finish(self):
        """Snapshot of the user's variables (JSON), then a fresh namespace."""
        self._restore_modules()
        names = self.user_names()
        snap = {}
        groups = {}
        for name in names:
            value = self.ns[name]
            try:
                snap[name] = encode(value)
            except Exception as exc:  # noqa: BLE001 - the snapshot must not fail
                snap[name] = ["unencodable", type(value).__name__, f"{type(exc).__name__}"]
            if isinstance(value, (list, dict, set, np.ndarray)) or _is_instance_of_user_class(value):
                groups.setdefault(id(value), []).append(name)
        aliases = sorted(g for g in groups.values() if len(g) > 1)
        text = json.dumps({"vars": snap, "aliases": aliases}, sort_keys=True)
        for name in list(self.ns):
            if name not in self.baseline and not _IPYTHON_NAME.match(name):
                del self.ns[name]
        self.ns.pop("__warningregistry__", None)
        for k in ("_", "__", "___"):
            if k in self.ns:
                self.ns[k] = ""
        return text


_MISSING = object()


def _is_instance_of_user_class(v):
    return type(v).__module__ == "__main__" and hasattr(v, "__dict__") and not isinstance(v, type)


def _type_name(v):
    t = type(v)
    mod = t.__module__
    if mod in ("builtins", "__main__"):
        return t.__qualname__
    return f"{mod}.{t.__qualname__}"


def _canonical_bytes(a):
    a = np.ascontiguousarray(a)
    if a.dtype.kind in "fc" and a.dtype.itemsize > (16 if a.dtype.kind == "c" else 8):
        # long double: 10 significant bytes and padding that holds anything.
        parts = [a.real, a.imag] if a.dtype.kind == "c" else [a]
        return "|".join(np.format_float_scientific(v, unique=True) for p in parts for v in p.ravel()).encode()
    if a.dtype.kind in "fc":
        a = a.copy()
        # NaN payloads and signs are not something CPython promises.
        if a.dtype.kind == "c":
            re_, im_ = a.real.copy(), a.imag.copy()
            re_[np.isnan(re_)] = np.nan
            im_[np.isnan(im_)] = np.nan
            return re_.tobytes() + im_.tobytes()
        a[np.isnan(a)] = np.nan
    return a.tobytes()


def encode(v, depth=0):
    t = _type_name(v)
    if isinstance(v, np.generic):
        arr = np.asarray(v)
        return [t, arr.dtype.str, repr(v), hashlib.sha1(_canonical_bytes(arr)).hexdigest()[:16]]
    if v is None or isinstance(v, (bool, str, bytes, range, slice)):
        return [t, repr(v)]
    if isinstance(v, int):
        if v.bit_length() > 4000:
            return [
                t,
                "bits",
                v.bit_length(),
                hashlib.sha1(v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)).hexdigest(),
            ]
        return [t, repr(v)]
    if isinstance(v, (float, complex)):
        return [t, repr(v)]
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "O":
            return [t, "object", list(v.shape), encode(v.tolist(), depth + 1)]
        return [t, v.dtype.str, list(v.shape), hashlib.sha1(_canonical_bytes(v)).hexdigest()]
    if depth >= _MAX_DEPTH:
        return [t, "..."]
    if isinstance(v, (list, tuple)):
        return [t, len(v), [encode(x, depth + 1) for x in v[:_MAX_ITEMS]]]
    if isinstance(v, dict):
        items = sorted(((repr(k), encode(x, depth + 1)) for k, x in list(v.items())[:_MAX_ITEMS]), key=lambda kv: kv[0])
        return [t, len(v), items]
    if isinstance(v, (set, frozenset)):
        return [t, len(v), sorted(repr(x) for x in v)]
    if isinstance(v, type):
        return ["class", v.__qualname__]
    if callable(v) and hasattr(v, "__qualname__"):
        return [t, v.__qualname__]
    if type(v).__name__ == "module":
        return [t, v.__name__]
    if isinstance(v, BaseException):
        return [t, str(v)]
    if _is_instance_of_user_class(v):
        attrs = {k: encode(x, depth + 1) for k, x in sorted(vars(v).items())}
        return [t, "obj", attrs]
    return [t, _ADDRESS.sub("0x?", repr(v))]


_PROBE = None


def install(shell):
    global _PROBE
    _PROBE = Probe(shell)
    return _PROBE


def finish():
    """Writes the snapshot to stdout (not through ``print``, which a case may shadow)."""
    sys.stdout.write(_PROBE.finish() + "\n")
    sys.stdout.flush()
