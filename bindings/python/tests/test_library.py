"""The binding against the library it loads: the version check, the
prototype table against the public headers, every error code's class."""

import os
import re
import shutil
import subprocess
import sys

import pytest

import smtpc
from smtpc import _ffi, errors
from conftest import INCLUDE, PACKAGE_ROOT

BLOCKS = [(-1, -19, smtpc.InputError), (-20, -39, smtpc.NetworkError),
          (-40, -59, smtpc.ProtocolError), (-60, -79, smtpc.RefusedError),
          (-80, -99, smtpc.TLSError), (-100, -119, smtpc.AuthError),
          (-120, -139, smtpc.MessageError)]


def header_codes():
    with open(os.path.join(INCLUDE, "smtpc", "base.h")) as f:
        text = f.read()
    return {int(v): n for n, v in re.findall(r"#define (SMTPC_E\w+) (-\d+)", text)}


def header_prototypes():
    """name -> parameter count of every SMTPC_API function in the headers."""
    out = {}
    for name in sorted(os.listdir(os.path.join(INCLUDE, "smtpc"))):
        with open(os.path.join(INCLUDE, "smtpc", name)) as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        for m in re.finditer(r"SMTPC_API[^;(]*?\b(smtpc_\w+)\s*\(([^;]*)\)\s*;", text):
            params, depth, count, cur = m.group(2), 0, 0, ""
            for ch in params:
                depth += ch == "("
                depth -= ch == ")"
                if ch == "," and depth == 0:
                    count += 1
                cur += ch
            out[m.group(1)] = 0 if cur.strip() in ("", "void") else count + 1
    return out


def test_version_matches_headers():
    with open(os.path.join(INCLUDE, "smtpc", "base.h")) as f:
        text = f.read()
    want = re.search(r'#define SMTPC_VERSION_STRING "([^"]+)"', text).group(1)
    assert smtpc.version() == want
    assert ".".join(map(str, smtpc.version_info())) == want
    assert (_ffi.ABI_MAJOR, _ffi.ABI_MINOR) == smtpc.version_info()[:2]


def test_every_prototype_matches_a_header_declaration():
    declared = header_prototypes()
    assert len(declared) > 80
    for name, (_restype, argtypes) in _ffi._PROTOTYPES.items():
        assert name in declared, f"{name} is not declared in include/smtpc"
        assert len(argtypes) == declared[name], f"{name}: argument count differs"


def test_every_error_code_has_its_class():
    codes = header_codes()
    assert len(codes) >= 50
    assert errors.CODE_NAMES == codes
    for code, name in codes.items():
        cls = smtpc.class_for(code)
        assert cls.code == code, name
        block = next(b for hi, lo, b in BLOCKS if hi >= code >= lo)
        assert issubclass(cls, block) and cls is not block, name
        err = cls(smtpc.strerror(code))
        assert err.name == name and err.code == code
        assert smtpc.strerror(code) != smtpc.strerror(-999), name
    # A code newer than the binding still gets its block's class.
    assert smtpc.class_for(-17) is smtpc.InputError
    assert smtpc.class_for(-138) is smtpc.MessageError


def run_import(env_library):
    env = dict(os.environ, SMTPC_LIBRARY=env_library, PYTHONPATH=PACKAGE_ROOT)
    return subprocess.run([sys.executable, "-c", "import smtpc"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_import_refuses_an_incompatible_library(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a stand-in library")
    src = tmp_path / "fake.c"
    # A library claiming 0.2.0: this binding speaks the 0.1 ABI only.
    src.write_text('const char *smtpc_version(void) { return "0.2.0"; }\n'
                   "int smtpc_version_number(void) { return 200; }\n")
    lib = tmp_path / "libsmtpc.so.0.2"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    proc = run_import(str(lib))
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "libsmtpc 0.2.0" in proc.stderr and "needs 0.1" in proc.stderr


def test_import_names_a_missing_library(tmp_path):
    proc = run_import(str(tmp_path / "nowhere" / "libsmtpc.so"))
    assert proc.returncode != 0
    assert "libsmtpc not found" in proc.stderr and "SMTPC_LIBRARY" in proc.stderr


def test_library_is_loaded_with_cdll_so_calls_release_the_gil():
    # PyDLL keeps the GIL during calls; the binding must never use it.
    assert type(_ffi.lib.cdll) is __import__("ctypes").CDLL
    assert smtpc.library_path == os.environ.get("SMTPC_LIBRARY", smtpc.library_path)
