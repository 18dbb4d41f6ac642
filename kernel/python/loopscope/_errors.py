"""Internal errors: what a user sees when Loopscope itself fails.

An exception raised inside the engine (a C++ exception, a bug in the
report code) must never reach the user's cell or its output: the loop runs
as plain Python and the report says so in one plain sentence. The exception
itself goes to the ``loopscope`` logger, for developers; ``LOOPSCOPE_DEBUG=1``
(or any level name: ``debug``, ``info``) prints it on stderr.
"""

import logging
import os

LOG = logging.getLogger("loopscope")


def _configure():
    level = os.environ.get("LOOPSCOPE_DEBUG", "").strip().lower()
    if not level or level in ("0", "no", "off", "false"):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("loopscope %(levelname)s: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.DEBUG if level in ("1", "yes", "on", "true") else level.upper())


_configure()


def internal(exc: BaseException, what: str) -> str:
    """Logs ``exc`` and returns the sentence for the user: ``what`` (for
    example "compiler") failed, so the loop runs as plain Python."""
    LOG.debug("internal error in the %s", what, exc_info=exc)
    return (
        f"Loopscope's {what} hit an internal problem, so this runs as plain Python "
        f"(LOOPSCOPE_DEBUG=1 shows the details)"
    )
