"""Selecting the CPU compile tier in tests (see jit/include/loopscope/jit/cpu.hpp).

The default tier ("auto") runs quick code for brief runs and swaps in optimised
code built in the background, so which code a test exercises would depend on
timing. Differential tests pick the tier explicitly instead, and cover both.
"""

import contextlib

import _loopscope

TIERS = ("quick", "optimised")


@contextlib.contextmanager
def cpu_tier(tier):
    old = _loopscope.cpu_tier()
    _loopscope.cpu_set_tier(tier)
    try:
        yield
    finally:
        _loopscope.cpu_set_tier(old)


@contextlib.contextmanager
def reassociating(on):
    """Floating-point sums in parallel (``on``) or in Python's order (the
    default) while the block runs."""
    old = _loopscope.analysis_float_reassociation()
    _loopscope.analysis_set_float_reassociation(bool(on))
    try:
        yield
    finally:
        _loopscope.analysis_set_float_reassociation(old)


def reassociates(seed):
    """Differential tests let odd seeds' float sums run in parallel (compared
    with a tolerance) and keep Python's order on even seeds (compared bit for
    bit on every device)."""
    return seed % 2 == 1


def tier_for(seed):
    """Alternates the tiers over seeds, so both see every kind of case."""
    return TIERS[(seed // 2) % 2]
