"""The kernel's settings, as ``%loopscope`` sets them: the mode (which device
runs intercepted nests), the level of the reports, the GPU profile priced,
and whether the next cell is only explained. One instance, ``SETTINGS``,
read by the hook (``_cell``) and written by the magic (``_magic``)."""

from dataclasses import dataclass
from typing import Optional

MODES = ("auto", "cpu", "gpu", "python", "off")
LEVELS = ("summary", "full", "quiet")


@dataclass
class Settings:
    mode: str = "auto"
    level: str = "summary"
    profile: Optional[str] = None  # None: the cost model's default profile
    explain_next: bool = False


SETTINGS = Settings()
