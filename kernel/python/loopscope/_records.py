"""What happened on each nest's latest execution (``loopscope.last_runs``).

The devices write it (``_run``'s Python and CPU devices, ``_cuda``'s GPU
devices); the kernel's report, the calibration and the tests read it. It
sits below every device so that none of them imports another to record.
"""

import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional

# Decline codes, as the engine names them (analysis/decline.hpp: to_string).
UNSUPPORTED_SYNTAX = "unsupported_syntax"  # a statement or expression the engine does not model
UNSUPPORTED_VALUE = "unsupported_value"  # a bound value of a kind the engine does not take
UNSUPPORTED_OPERATION = "unsupported_operation"  # the code generator cannot express it
TYPING = "typing"  # one variable or expression would need two machine types
DEPENDENCE = "dependence"  # values flow between parts that cannot run separately
SUBSCRIPT_RANGE = "subscript_range"  # a subscript may be out of range
EXACTNESS = "exactness"  # native code could differ from Python
TRAP = "trap"  # the native run stopped where Python raises or differs
NO_DEVICE = "no_device"  # no GPU, driver or NVRTC
INTERRUPTED = "interrupted"  # the user interrupted the run
INTERNAL = "internal"  # an engine bug; detail says what
CODES = (
    UNSUPPORTED_SYNTAX,
    UNSUPPORTED_VALUE,
    UNSUPPORTED_OPERATION,
    TYPING,
    DEPENDENCE,
    SUBSCRIPT_RANGE,
    EXACTNESS,
    TRAP,
    NO_DEVICE,
    INTERRUPTED,
    INTERNAL,
)


# The hidden index of a loop over an array's elements (`for x in a`, lowered
# by _iteration to an index loop): shown to the user as the loop's variable.
HIDDEN_INDEX = "$index_of_"
# The variable of the loop of one iteration around a while loop at the top of
# a nest (_iteration: a nest starts with a for loop): shown as "while".
HIDDEN_WHILE = "$while"
_HIDDEN_RE = re.compile(r"\$\w+")
# The number of the arrangement of swapped arrays (_rotations): a name of the
# front end's copy of a nest, shown as a phrase.
SWAP_STATE = "__loopscope_swaps__"
_SWAP_STATE_SHOWN = "the state of the array swaps"
# How many values a nest appended to the list `out` (_appends.count_name):
# shown as len(out).
APPENDED_COUNT = "__loopscope_len_"
_APPENDED_RE = re.compile(r"__loopscope_len_(\w+?)__(?!\w)")
# What the arrays made before a nest (_fresh) add to its copy: a flag set
# when the statement that makes the array ran, and the values of np.full.
_MADE_RE = re.compile(r"__loopscope_(made|template|other)_(\w+?)__")
_MADE_SHOWN = {"made": "whether {} was made", "template": "the values {} is made with", "other": "{}'s other array"}


def _made_shown(m) -> str:
    return _MADE_SHOWN[m.group(1)].format(m.group(2))


# Other hidden names and how the user knows them: the locals of an inlined
# function ("t (in cnd)", registered by _inline).
_HIDDEN_SHOWN: Dict[str, str] = {}


def show_hidden_as(name: str, text: str):
    """``name`` (a hidden name of the engine's) reads ``text`` for the user."""
    _HIDDEN_SHOWN[name] = text


def _shown_name(m) -> str:
    name = m.group(0)
    if name.startswith(HIDDEN_INDEX):
        return name[len(HIDDEN_INDEX) :]
    if name == HIDDEN_WHILE:
        return "while"
    return _HIDDEN_SHOWN.get(name, name)


def shown(text: str) -> str:
    """``text`` from the engine as the user reads it: the loop over ``x`` in
    ``for x in a`` is named ``x``, not by its hidden index, and an inlined
    function's local ``t`` reads "t (in cnd)"."""
    if SWAP_STATE in text:
        text = text.replace(SWAP_STATE, _SWAP_STATE_SHOWN)
    if APPENDED_COUNT in text:
        text = _APPENDED_RE.sub(r"len(\1)", text)
    if "__loopscope_" in text:
        text = _MADE_RE.sub(_made_shown, text)
    return _HIDDEN_RE.sub(_shown_name, text) if "$" in text else text


def shown_all(obj):
    """``obj`` (an engine result: dicts, lists, strings) with ``shown``
    applied to every string in it."""
    if isinstance(obj, str):
        return shown(obj)
    if isinstance(obj, dict):
        return {k: shown_all(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shown_all(v) for v in obj]
    return obj


@dataclass(frozen=True)
class Decline:
    """Why a nest (or one run of it) stays in Python: a code (``CODES``),
    the line of the cell (0 when no statement is to blame), one sentence for
    the user and a detail for developers (may be empty). The engine's declines
    arrive as ``{"code", "line", "reason", "detail"}`` (``from_engine``);
    Python makes its own with the same codes."""

    code: str
    line: int = 0
    reason: str = ""
    detail: str = ""

    @classmethod
    def from_engine(cls, d: Any) -> Optional["Decline"]:
        """The Decline of an engine dict (None for None; a Decline as it is)."""
        if d is None or isinstance(d, Decline):
            return d
        return cls(
            code=str(d.get("code") or INTERNAL),
            line=int(d.get("line") or 0),
            reason=shown(str(d.get("reason") or "")),
            detail=str(d.get("detail") or ""),
        )

    def as_dict(self) -> Dict[str, Any]:
        return {"code": self.code, "line": self.line, "reason": self.reason, "detail": self.detail}


# The declines Python makes itself.
NOT_DEFINED = Decline(UNSUPPORTED_VALUE, 0, "a name the loop reads is not defined")
USER_INTERRUPT = Decline(INTERRUPTED, 0, "the run was interrupted (KeyboardInterrupt)")


def internal_decline(sentence: str, exc: BaseException) -> Decline:
    """An engine bug met in Python: ``sentence`` for the user (``_errors.internal``),
    the exception for developers."""
    return Decline(INTERNAL, 0, sentence, f"{type(exc).__name__}: {exc}")


_LAST = {}
_LOCK = threading.Lock()


# A better sentence for a native run's stop, from what the nest's rewriting
# knows (set by _rewrite: a lowered slice's check stops the code through the
# division-by-zero trap): (nest id, Decline) -> Decline.
STOP_SENTENCE = [None]


def record(nest_id, device, result):
    """Keeps ``result`` (a device's answer: "status", "decline", "timing",
    "parallel_loops") as the latest execution of ``nest_id`` on ``device``.
    The record's "decline" is a ``Decline`` (None when it ran); its "reason"
    repeats the decline's sentence ("" when it ran)."""
    decline = Decline.from_engine(result.get("decline"))
    if decline is not None and result.get("status") == "fallback" and STOP_SENTENCE[0] is not None:
        try:
            decline = STOP_SENTENCE[0](nest_id, decline)
        except Exception:
            pass  # the engine's own sentence stands
    rec = {
        "device": device,
        "status": result.get("status"),
        "decline": decline,
        "reason": decline.reason if decline else "",
        "timing": result.get("timing", {}),
        "parallel_loops": shown(result.get("parallel_loops", "")),
    }
    with _LOCK:
        _LAST[nest_id] = rec


def status_of(nest_id):
    """The status of the latest execution of ``nest_id`` (None if none)."""
    rec = _LAST.get(nest_id)
    return rec["status"] if rec is not None else None


def optimised_run_seconds_of(nest_id):
    """How long the optimised native code of the latest execution of
    ``nest_id`` ran (seconds; None when it did not run natively, or ran
    quick code, which is slower by design)."""
    rec = _LAST.get(nest_id)
    if rec is None or rec["status"] != "ok" or rec["timing"].get("tier") != "optimised":
        return None
    ms = rec["timing"].get("run_ms")
    return None if ms is None else ms * 1e-3


def last_runs():
    with _LOCK:
        return {k: dict(v) for k, v in _LAST.items()}


def reset():
    with _LOCK:
        _LAST.clear()
