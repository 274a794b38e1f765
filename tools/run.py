"""Install the project's locked environment, then run a command in it.

    python3 tools/run.py caseload demo    # the demo
    python3 tools/run.py pytest [ARGS]    # every test
    python3 tools/run.py uv lock          # uv itself, e.g. after editing dependencies

It needs nothing but the python3 that runs it: not pip, not the venv module,
not ensurepip. That is the point: Debian's and Ubuntu's own python3 refuse
`pip install` outside a virtual environment (PEP 668, "externally-managed-
environment"), Ubuntu often has no pip at all, and `python3 -m venv` fails
there without the python3-venv package. Nothing is installed outside this
clone except what uv keeps in its download cache (~/.cache/uv).

1. uv, at the version pinned below, comes from PyPI as a wheel: downloaded with
   the standard library, checked against the sha256 pinned below, and its one
   binary unpacked into .tools/uv-VERSION/ (ignored by git). Once there, it is
   not downloaded again.
2. `uv run --frozen` then creates or updates .venv/ exactly from uv.lock, with
   the interpreter that runs this script, and runs the command in it. When
   .venv/ is current, that takes well under a second.

TLS: the download here trusts the system's CA store, or SSL_CERT_FILE when
set, like pip does. uv by default trusts only its own copy of Mozilla's roots,
which fails behind a proxy that re-signs TLS ("invalid peer certificate"), so
it is told to use the system's store too (UV_SYSTEM_CERTS); SSL_CERT_FILE,
when set, wins for uv as well.

Kept to syntax that Python 3.6 parses, so that on a Python the project does
not support, uv's message naming the supported versions is what you see.
"""

import hashlib
import os
import platform
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

UV_VERSION = "0.13.9"
# PyPI's wheels of that version: (path under files.pythonhosted.org/packages/, sha256).
# To move uv on, take the new version's wheels' addresses and sha256 from PyPI's
# page for it ("Download files") and change all of these and UV_VERSION together.
_WHEELS = {
    "linux-x86_64": (
        "3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f/"
        "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19"),
    "linux-x86_64-musl": (
        "fe/fe/794884de0efd3ac77a427cab21aa72c0483e100c55a42cd5cbb02c141b84/"
        "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl",
        "2c45530751517d6c3bbc69a19473f6effe47cce047bede01ffd8af7ea7b36b25"),
    # One static binary for either C library.
    "linux-aarch64": (
        "57/15/94b6cd62ac3ff6550288328e8035288875197cbc183f51554b266a69877b/"
        "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe"),
    "darwin-x86_64": (
        "1e/db/08e9ef4879bd667e6d7b4705e594e5bd3e4585f10fc63cb16b9fa2fac63e/"
        "uv-0.13.9-py3-none-macosx_10_12_x86_64.whl",
        "c16ed11e013557536b3e60065f1b912f6407bd6518e041b961e23ef9e6b4fbf5"),
    "darwin-arm64": (
        "f3/a7/a8d7b074798c7fb3b26b37584b8fe2e29df2ccdc24ce7902caab2a53edbf/"
        "uv-0.13.9-py3-none-macosx_11_0_arm64.whl",
        "66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63"),
}
_WHEELS["linux-aarch64-musl"] = _WHEELS["linux-aarch64"]

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"


def say(message):
    print("tools/run.py: " + message, file=sys.stderr, flush=True)


def platform_key():
    key = sys.platform + "-" + platform.machine().lower()
    if sys.platform == "linux" and platform.libc_ver()[0] != "glibc":
        key += "-musl"
    return key


def ensure_uv():
    """The pinned uv's binary, downloaded and unpacked on first use."""
    home = TOOLS / ("uv-" + UV_VERSION)
    exe = home / "uv"
    if exe.is_file():
        return exe
    key = platform_key()
    if key not in _WHEELS:
        sys.exit(f"tools/run.py: no uv wheel pinned for this platform ({key}); install "
                 f"uv {UV_VERSION} yourself and run `uv run --frozen ...`")
    path, sha256 = _WHEELS[key]
    url = "https://files.pythonhosted.org/packages/" + path
    say(f"first run: downloading uv {UV_VERSION} from PyPI (about 18 MB)")
    TOOLS.mkdir(exist_ok=True)
    (TOOLS / ".gitignore").write_text("*\n")
    # Everything happens in a temporary folder beside the final one and is
    # renamed into place at the end, so an interrupted or concurrent first run
    # never leaves a half-written uv behind.
    with tempfile.TemporaryDirectory(dir=str(TOOLS)) as tmp:
        wheel = Path(tmp) / "uv.whl"
        try:
            with urllib.request.urlopen(url, timeout=120) as response, wheel.open("wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:  # URLError, timeouts and TLS errors are all OSErrors
            sys.exit(f"tools/run.py: could not download {url}: {exc}\n(behind a proxy that "
                     "re-signs TLS, set SSL_CERT_FILE to a CA bundle that includes its root)")
        got = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if got != sha256:
            sys.exit(f"tools/run.py: {url} has sha256 {got}, not the pinned {sha256}; "
                     "not using it")
        staged = Path(tmp) / "uv-dir"
        staged.mkdir()
        with zipfile.ZipFile(str(wheel)) as archive:
            (staged / "uv").write_bytes(archive.read(f"uv-{UV_VERSION}.data/scripts/uv"))
        (staged / "uv").chmod(0o755)
        try:
            staged.rename(home)
        except OSError:
            if not exe.is_file():  # else another run put it there first: fine
                raise
    return exe


def main(args):
    if not args:
        sys.exit(__doc__)
    uv = ensure_uv()
    env = dict(os.environ)
    env.setdefault("UV_SYSTEM_CERTS", "1")  # see TLS above
    env["UV_PYTHON"] = sys.executable  # this interpreter, whichever python3 ran us
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # never fetch another one instead
    if args[0] == "uv":
        command = [str(uv)] + args[1:]
    else:
        # --compile-bytecode: compile every module when installing rather than on
        # its first import (a later run only checks: about 0.3 s). --project: this
        # clone's project, even when run from another folder.
        command = [str(uv), "run", "--frozen", "--compile-bytecode",
                   "--project", str(ROOT)] + args
    os.execve(str(uv), command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
