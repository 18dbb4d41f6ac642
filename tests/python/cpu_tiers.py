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


def tier_for(seed):
    """Alternates the tiers over seeds, so both see every kind of case."""
    return TIERS[(seed // 2) % 2]
