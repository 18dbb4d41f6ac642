"""The tree keeps one style and builds without warnings, and its sanitizer
builds are what scripts/sanitize.sh says they are.

- Python: ``ruff format`` and ``ruff check`` (ruff.toml), with the ruff of
  scripts/requirements.txt.
- C++: ``clang-format`` (.clang-format), with the clang-format of
  scripts/requirements.txt.
- Every compiled file of the build, bindings and tests included, has
  ``-Wall -Wextra``.
- ``LOOPSCOPE_SANITIZE=address`` and ``=thread`` configure builds whose every
  file is instrumented; another value is refused.

To apply the style: ``.venv/bin/ruff format . && .venv/bin/ruff check --fix .``
and ``git ls-files '*.cpp' '*.hpp' '*.h' | xargs .venv/bin/clang-format -i``.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BIN = os.path.dirname(sys.executable)
BUILD = os.environ.get("LOOPSCOPE_BUILD_DIR", os.path.join(ROOT, "build"))


def tool(name):
    path = os.path.join(BIN, name)
    assert os.path.exists(path), f"{name} is installed by scripts/setup.sh (scripts/requirements.txt)"
    return path


def tracked(*patterns):
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [f for f in out.stdout.split() if not f.startswith("notebooks/")]


def test_python_is_formatted():
    r = subprocess.run([tool("ruff"), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_python_lints_clean():
    r = subprocess.run([tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cpp_is_formatted():
    files = tracked("*.cpp", "*.hpp", "*.h")
    assert files
    r = subprocess.run(
        [tool("clang-format"), "--dry-run", "--Werror", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-4000:]


def compile_commands(build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        return json.load(f)


def test_every_compiled_file_has_warnings_on():
    commands = compile_commands(BUILD)
    files = {os.path.relpath(c["file"], ROOT) for c in commands}
    assert any(f.startswith("kernel/bindings/") for f in files) and any(f.startswith("tests/cpp/") for f in files)
    quiet = [
        os.path.relpath(c["file"], ROOT)
        for c in commands
        if "-Wall" not in c["command"] or "-Wextra" not in c["command"]
    ]
    assert not quiet, quiet


@pytest.mark.parametrize("kind,flag", [("address", "-fsanitize=address,undefined"), ("thread", "-fsanitize=thread")])
def test_sanitizer_builds_instrument_every_file(tmp_path, kind, flag):
    # What scripts/sanitize.sh configures (it then builds and runs the C++ tests).
    build = tmp_path / kind
    r = subprocess.run(
        [
            shutil.which("cmake") or "cmake",
            "-S",
            ROOT,
            "-B",
            str(build),
            "-G",
            "Ninja",
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            f"-DLOOPSCOPE_SANITIZE={kind}",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    commands = compile_commands(str(build))
    assert any("tests/cpp/jit" in c["file"] for c in commands)
    plain = [c["file"] for c in commands if flag not in c["command"]]
    assert not plain, plain
    with open(os.path.join(ROOT, "scripts", "sanitize.sh")) as f:
        script = f.read()
    assert '-DLOOPSCOPE_SANITIZE="$kind"' in script and kind in script


def test_an_unknown_sanitizer_is_refused(tmp_path):
    r = subprocess.run(
        ["cmake", "-S", ROOT, "-B", str(tmp_path / "b"), "-G", "Ninja", "-DLOOPSCOPE_SANITIZE=memory"],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "LOOPSCOPE_SANITIZE must be" in r.stderr
