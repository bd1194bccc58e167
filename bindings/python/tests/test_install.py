"""`pip install` of the package works offline (setuptools from the system,
no build isolation, no index), and the installed copy imports and finds
the library."""

import os
import subprocess
import sys

import pytest

from conftest import PACKAGE_ROOT


def test_pip_install_offline(tmp_path):
    pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if pip.returncode != 0:
        pytest.skip("pip is not installed for this interpreter (Debian: python3-pip)")
    target = tmp_path / "site"
    # The build writes into the source tree (build/, *.egg-info); a copy
    # keeps the checkout clean.
    src = tmp_path / "src"
    subprocess.run(["cp", "-r", PACKAGE_ROOT, str(src)], check=True)
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(src)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "smtpc" / "py.typed").exists()
    check = ("import smtpc, sys; assert smtpc.__file__.startswith(sys.argv[1]), smtpc.__file__;"
             "m = smtpc.Message(sender='a@example.org', to='b@example.org', text='hi');"
             "assert b'\\r\\n\\r\\nhi' in m.as_bytes(); print(smtpc.version())")
    run = subprocess.run([sys.executable, "-c", check, str(target)], capture_output=True,
                         text=True, cwd=str(tmp_path), timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(target)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().count(".") == 2
