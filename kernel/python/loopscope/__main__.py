"""``python -m loopscope install-kernel [--user | --sys-prefix | --prefix DIR]``

(default: the virtual environment this Python runs in, else the user's
Jupyter folder)

Installs the Jupyter kernelspec of the xloopscope kernel that an installed
wheel carries (loopscope/kernel/xloopscope). The kernel embeds this Python:
its argv names this interpreter, so the kernel sees this environment's
packages, and its library path names the folder of this Python's
libpython3.11, which the kernel links.

A build from the source tree installs its kernelspec with scripts/setup.sh
instead; this command is for the wheel.
"""

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile

KERNEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel")
EXECUTABLE = os.path.join(KERNEL_DIR, "xloopscope")
LOGOS = ("logo-32x32.png", "logo-64x64.png")


class InstallError(Exception):
    """A reason the kernelspec cannot be installed, in words for the user."""


def shared_libpython():
    """The folder holding this Python's shared libpython (the kernel links
    libpython3.11.so.1.0), or InstallError when this Python has none."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    soname = "libpython%d.%d.so.1.0" % sys.version_info[:2]
    for folder in (libdir, os.path.join(sys.base_prefix, "lib")):
        if folder and os.path.exists(os.path.join(folder, soname)):
            return folder
    raise InstallError(
        f"this Python ({sys.executable}) has no shared {soname}, which the xloopscope kernel embeds "
        "(a Python built without --enable-shared); use `%load_ext loopscope` in an IPython kernel instead"
    )


def kernel_spec(display_name):
    """The kernel.json of the wheel's kernel for this Python."""
    if not os.access(EXECUTABLE, os.X_OK):
        raise InstallError(
            f"this installation of loopscope carries no kernel executable ({EXECUTABLE}); "
            "a build from the source tree installs its kernel with scripts/setup.sh"
        )
    libdir = shared_libpython()
    library_path = os.pathsep.join(p for p in (libdir, os.environ.get("LD_LIBRARY_PATH", "")) if p)
    return {
        "display_name": display_name,
        "argv": [EXECUTABLE, "--python", sys.executable, "-f", "{connection_file}"],
        "language": "python",
        "interrupt_mode": "signal",
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1", "LD_LIBRARY_PATH": library_path},
        "metadata": {"debugger": True},
    }


def install_kernel(name="loopscope", display_name="Python 3 (Loopscope)", user=False, prefix=None):
    """Installs the kernelspec; returns the folder it went to."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        raise InstallError(
            "jupyter_client is not installed: `pip install loopscope[kernel]` brings it and the kernel's other "
            "Python packages"
        ) from None
    spec = kernel_spec(display_name)
    with tempfile.TemporaryDirectory() as staging:
        with open(os.path.join(staging, "kernel.json"), "w") as f:
            json.dump(spec, f, indent=2)
        for logo in LOGOS:
            source = os.path.join(KERNEL_DIR, logo)
            if os.path.exists(source):
                shutil.copy(source, staging)
        return KernelSpecManager().install_kernel_spec(staging, kernel_name=name, user=user, prefix=prefix)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m loopscope", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install-kernel", help="install the xloopscope kernelspec for this Python")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into the user's Jupyter data folder")
    where.add_argument("--sys-prefix", action="store_true", help="into this environment (sys.prefix)")
    where.add_argument("--prefix", help="into PREFIX/share/jupyter/kernels")
    install.add_argument("--name", default="loopscope", help="the kernelspec's name (default: loopscope)")
    install.add_argument("--display-name", default="Python 3 (Loopscope)", help="the name Jupyter shows")
    args = parser.parse_args(argv)
    prefix = sys.prefix if args.sys_prefix else args.prefix
    if not (args.user or prefix):  # in a virtual environment: that environment; else the user's folder
        prefix = sys.prefix if sys.prefix != sys.base_prefix else None
        args.user = prefix is None
    try:
        where_to = install_kernel(args.name, args.display_name, user=args.user, prefix=prefix)
    except InstallError as exc:
        print(f"loopscope: {exc}", file=sys.stderr)
        return 1
    print(f"installed kernelspec {args.name} in {where_to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
