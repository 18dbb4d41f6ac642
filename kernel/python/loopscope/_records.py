"""What happened on each nest's latest execution (``loopscope.last_runs``).

The devices write it (``_run``'s Python and CPU devices, ``_cuda``'s GPU
devices); the kernel's report, the calibration and the tests read it. It
sits below every device so that none of them imports another to record.
"""

import threading

_LAST = {}
_LOCK = threading.Lock()


def record(nest_id, device, result):
    """Keeps ``result`` (a device's answer: "status", "reason", "timing",
    "parallel_loops") as the latest execution of ``nest_id`` on ``device``."""
    rec = {
        "device": device,
        "status": result.get("status"),
        "reason": result.get("reason", ""),
        "timing": result.get("timing", {}),
        "parallel_loops": result.get("parallel_loops", ""),
    }
    with _LOCK:
        _LAST[nest_id] = rec


def last_runs():
    with _LOCK:
        return {k: dict(v) for k, v in _LAST.items()}


def reset():
    with _LOCK:
        _LAST.clear()
