"""Shared fixtures: paths, the benchmark suite, and a running Loopscope kernel."""

import contextlib
import faulthandler
import io
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "share"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

from kernel_session import KernelSession  # noqa: E402

# A test that hangs (a lost interrupt, a deadlock) must not stall the whole
# run: after this long, every thread's traceback goes to stderr and the
# process exits. No test comes near it (the whole suite takes about 15
# minutes).
TEST_HANG_LIMIT_S = 900


@pytest.fixture(autouse=True)
def _hang_watchdog():
    faulthandler.dump_traceback_later(TEST_HANG_LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# Measurements tests report (start-up time, interrupt latency, ...): printed
# at the end of the run, never asserted tightly.
MEASUREMENTS = {}


@pytest.fixture
def measure():
    def record(name, value, unit=""):
        MEASUREMENTS[name] = (value, unit)

    return record


def pytest_terminal_summary(terminalreporter):
    if not MEASUREMENTS:
        return
    terminalreporter.section("measurements (printed, not asserted)")
    for name, (value, unit) in sorted(MEASUREMENTS.items()):
        terminalreporter.write_line(f"{name}: {value:.3g} {unit}".rstrip())


@pytest.fixture
def reassociation():
    """Lets floating-point sums run in parallel for one test (off by default)."""
    from cpu_tiers import reassociating

    with reassociating(True):
        yield


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


@pytest.fixture(scope="module")
def kernel():
    """One Loopscope kernel per test module, shut down at the end."""
    session = KernelSession.start()
    yield session
    session.shutdown()


@pytest.fixture(scope="module")
def shell():
    """The process's IPython shell with the extension loaded (one shell per
    process); the mode is put back to auto and full reports at the end."""
    from IPython.testing import globalipapp

    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_line_magic("load_ext", "loopscope")
    yield ip
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_line_magic("loopscope", "auto full")
