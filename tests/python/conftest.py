"""Shared fixtures: paths, the benchmark suite, and a running Loopscope kernel."""

import os
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "share"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

from kernel_session import KernelSession  # noqa: E402


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


@pytest.fixture(scope="module")
def kernel():
    """One Loopscope kernel per test module, shut down at the end."""
    session = KernelSession.start()
    yield session
    session.shutdown()
