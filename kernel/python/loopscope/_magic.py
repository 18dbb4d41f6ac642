"""``%loopscope``: the magic that sets the kernel's mode, report level, GPU
profile and reassociation, and echoes the settings (``_settings``)."""

import sys

from ._settings import LEVELS, MODES, SETTINGS

# --- the magic ------------------------------------------------------------------------


def _profiles():
    try:
        from . import _cost

        return [p if isinstance(p, str) else p.get("name") for p in _cost.gpu_profiles()]
    except Exception:
        return []


def settings_line():
    """The one-line echo of %loopscope: the settings now."""
    profile = SETTINGS.profile or "default"
    sums = "in parallel" if _reassociation() else "in Python's order"
    return (
        f"Loopscope: mode {SETTINGS.mode}, show {SETTINGS.level}, GPU profile {profile}, "
        f"floating-point sums {sums}."
    )


def describe_settings():
    """What %loopscope alone prints: the settings and every option."""
    return (
        settings_line() + f"\nModes: {', '.join(MODES)}. Show: {', '.join(LEVELS)}. "
        "Also: %loopscope profile NAME, %loopscope profiles, %loopscope explain, "
        "%loopscope reassociate on|off."
    )


def _reassociation():
    try:
        import _loopscope

        return bool(_loopscope.analysis_float_reassociation())
    except Exception:
        return False


def loopscope_magic(line):
    """%loopscope [auto|cpu|gpu|python|off] [full|summary|quiet] [profile NAME] [explain] [profiles]
    [reassociate on|off]"""
    words = line.split()
    if not words:
        print(describe_settings())
        return
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w in MODES:
            SETTINGS.mode = w
        elif w in LEVELS:
            SETTINGS.level = w
        elif w == "explain":
            SETTINGS.explain_next = True
            print("Loopscope: the next cell's loop nests will be analysed and reported, not run.")
        elif w == "reassociate":
            value = words[i + 1].lower() if i + 1 < len(words) else ""
            if value not in ("on", "off"):
                print("Loopscope: %loopscope reassociate takes on or off", file=sys.stderr)
                return
            i += 1
            from . import _cost

            _cost.set_reassociation(value == "on")
        elif w == "profiles":
            print("GPU profiles: " + ", ".join(_profiles()))
        elif w == "profile" or w.startswith("profile="):
            name = w.split("=", 1)[1] if "=" in w else (words[i + 1] if i + 1 < len(words) else "")
            if "=" not in w:
                i += 1
            known = _profiles()
            if name not in known:
                print(f"Loopscope: unknown GPU profile {name!r}; known: {', '.join(known)}", file=sys.stderr)
                return
            SETTINGS.profile = name
        else:
            print(f"Loopscope: unknown option {words[i]!r}.\n" + describe_settings(), file=sys.stderr)
            return
        i += 1
    print(settings_line())
