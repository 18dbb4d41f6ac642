"""Internal errors: what a user sees when Loopscope itself fails.

An exception raised inside the engine (a C++ exception, a bug in the
report code) must never reach the user's cell or its output: the loop runs
as plain Python and the report says so in one plain sentence. The exception
itself goes to the ``loopscope`` logger, for developers. ``LOOPSCOPE_DEBUG``
(one setting for developers, read here and by the C++ engine:
analysis/include/loopscope/debug_settings.hpp) prints it on stderr from
level 1 (``LOOPSCOPE_DEBUG=1``, ``errors``, ``timing`` or a higher number);
a logging level name (``info``, ``warning``) sets the logger to that level.
The code generator's switches (``no-jam``, ``opt=2``, ...) are ignored here.
"""

import logging
import os

LOG = logging.getLogger("loopscope")

_LEVEL_NAMES = {"off": 0, "no": 0, "false": 0, "errors": 1, "on": 1, "yes": 1, "true": 1, "timing": 2}


def debug_level(text):
    """The level of a ``LOOPSCOPE_DEBUG`` value, as the engine reads it:
    (level, logging level name or None)."""
    level, name = 0, None
    for item in (text or "").split(","):
        item = item.strip().lower()
        if item.isdigit():
            level = int(item)
        elif item in _LEVEL_NAMES:
            level = _LEVEL_NAMES[item]
        elif item in ("debug", "info", "warning", "error", "critical"):
            level, name = 1, item.upper()
    return level, name


def _configure():
    level, name = debug_level(os.environ.get("LOOPSCOPE_DEBUG", ""))
    if level < 1:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("loopscope %(levelname)s: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(name or logging.DEBUG)


_configure()


def internal(exc: BaseException, what: str) -> str:
    """Logs ``exc`` and returns the sentence for the user: ``what`` (for
    example "compiler") failed, so the loop runs as plain Python."""
    LOG.debug("internal error in the %s", what, exc_info=exc)
    return (
        f"Loopscope's {what} hit an internal problem, so this runs as plain Python "
        f"(LOOPSCOPE_DEBUG=1 shows the details)"
    )
