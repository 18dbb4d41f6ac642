"""Python side of the xloopscope kernel.

The C++ kernel calls :func:`install` once the IPython shell exists. It makes the
kernel behave like a good Python kernel where xeus-python's defaults differ:

- ``sys.stdout``/``sys.stderr`` coalesce writes into whole messages (one
  ``stream`` message per burst of output, not one per ``write`` call), and are
  flushed before any display, result or error so the order is kept;
- errors carry the exception's class name (``ZeroDivisionError``);
- the ``comm`` package (ipywidgets 8) creates real comms through the kernel;
- ``exit()`` and ``quit()`` end the kernel as in ipykernel: the cell's reply
  carries the ``ask_exit`` payload, then the process exits (the notebook
  server restarts it);
- Loopscope's loop-nest transformer is registered when the engine is present.
"""

import io
import sys
import time

_streams = []


class CoalescingStream(io.TextIOBase):
    """A text stream that forwards to a kernel stream in batches.

    Text is buffered and forwarded when a write completes a line and at least
    ``interval`` seconds have passed since the last forward, when the buffer
    grows large, on ``flush()``, and at the end of each cell.
    """

    def __init__(self, target, name, interval=0.05, limit=1 << 16):
        super().__init__()
        self._target = target
        self._name = name
        self._buffer = []
        self._size = 0
        self._interval = interval
        self._limit = limit
        self._last = time.monotonic()

    @property
    def name(self):
        return "<" + self._name + ">"

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        self._buffer.append(text)
        self._size += len(text)
        now = time.monotonic()
        if self._size >= self._limit or ("\n" in text and now - self._last >= self._interval):
            self.flush()
        return len(text)

    def flush(self):
        if self._buffer:
            text = "".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            self._target.write(text)
        self._last = time.monotonic()


def flush_streams():
    for stream in _streams:
        try:
            stream.flush()
        except Exception:  # a broken stream must not break the kernel
            pass


def _flushing(fn):
    def wrapper(*args, **kwargs):
        flush_streams()
        return fn(*args, **kwargs)

    wrapper.__wrapped__ = fn
    return wrapper


def _install_streams(shell):
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, CoalescingStream):
            continue
        stream = CoalescingStream(current, name)
        _streams.append(stream)
        setattr(sys, name, stream)
    # Output written before a display, a result or an error must come first.
    pub = shell.display_pub
    pub.publish_display_data = _flushing(pub.publish_display_data)
    pub.clear_output = _flushing(pub.clear_output)
    hook = shell.displayhook
    if hasattr(hook, "publish_execution_result"):
        hook.publish_execution_result = _flushing(hook.publish_execution_result)
    shell.events.register("post_run_cell", lambda *args: flush_streams())
    shell.events.register("pre_run_cell", lambda *args: _wrap_input())


def _wrap_input():
    """Flush output before prompting: xeus-python installs a fresh ``input``
    for every request (before the cell runs), so wrap it each time."""
    import builtins

    current = builtins.input
    if not getattr(current, "_loopscope_flushing", False):
        wrapped = _flushing(current)
        wrapped._loopscope_flushing = True
        builtins.input = wrapped


def _install_error_names(shell):
    def showtraceback(etype, evalue, stb):
        flush_streams()
        name = getattr(etype, "__name__", None) or str(etype)
        shell.last_error = [name, str(evalue), stb]

    shell._showtraceback = showtraceback


def _install_comm(shell):
    """Route the ``comm`` package (used by ipywidgets 8) to the kernel's comms."""
    try:
        import comm
    except ImportError:
        return
    xcomm = sys.modules.get("ipykernel.comm")
    kernel = getattr(shell, "kernel", None)
    manager = getattr(kernel, "comm_manager", None)
    if xcomm is None or manager is None:
        return

    def create_comm(*args, **kwargs):
        return xcomm.Comm(*args, **kwargs)

    comm.create_comm = create_comm
    comm.get_comm_manager = lambda: manager


_exit = {"requested": False}


def _install_exit(shell):
    """IPython's ``exit``/``quit`` call ``shell.ask_exit()``, which
    xeus-python's shell lacks; the C++ kernel asks ``exit_requested()`` after
    each cell."""

    def ask_exit():
        _exit["requested"] = True

    shell.ask_exit = ask_exit


def complete_json(code, cursor_pos):
    """The complete_reply for ``code`` at ``cursor_pos`` (a JSON string), as
    ipykernel builds it: IPython's completions, with each one's type
    ("function", "module", "instance", ...) and signature in the metadata
    JupyterLab reads ("_jupyter_types_experimental")."""
    import json

    from IPython import get_ipython
    from IPython.core.completer import provisionalcompleter, rectify_completions

    shell = get_ipython()
    if cursor_pos is None or cursor_pos < 0:
        cursor_pos = len(code)
    with provisionalcompleter():
        completions = list(rectify_completions(code, shell.Completer.completions(code, cursor_pos)))
    types = [
        {"start": c.start, "end": c.end, "text": c.text, "type": c.type, "signature": c.signature} for c in completions
    ]
    start, end = (completions[0].start, completions[0].end) if completions else (cursor_pos, cursor_pos)
    return json.dumps(
        {
            "matches": [c.text for c in completions],
            "cursor_start": start,
            "cursor_end": end,
            "metadata": {"_jupyter_types_experimental": types},
            "status": "ok",
        }
    )


def exit_requested():
    """True once per ``exit()``: the kernel then replies and exits."""
    requested, _exit["requested"] = _exit["requested"], False
    return requested


def _install_loopscope(shell):
    import os

    if os.environ.get("LOOPSCOPE_INTERCEPT", "1") == "0":
        return  # a plain Python kernel (used to measure what interception costs)
    try:
        from . import _cell  # the loop-nest transformer, when present
    except ImportError:
        return
    _cell.register(shell)


def native_interrupt_flag_address():
    """Address of the native engine's cancel flag, or None without an engine."""
    try:
        import _loopscope
    except ImportError:
        return None
    getter = getattr(_loopscope, "cpu_cancel_flag_address", None)
    return None if getter is None else int(getter())


def install(shell):
    _install_streams(shell)
    _install_error_names(shell)
    _install_comm(shell)
    _install_exit(shell)
    _install_loopscope(shell)
