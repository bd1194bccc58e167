#!/usr/bin/python3
"""Check the shared library's export list.

Fails when the library exports a symbol without the smtpc_ prefix (a
bundled dependency), an smtpc_ symbol no public header declares (a leaked
internal), or when a function declared SMTPC_API in the public headers is
missing (compiled-out features must keep their symbols and return
SMTPC_ENOTSUP).

Usage: check_exports.py LIBSMTPC.so INCLUDE-DIR
"""

import os
import re
import subprocess
import sys

# Symbols the toolchain itself puts in every shared object, and the
# instrumentation sanitizer builds add; none of them is our API.
TOOLCHAIN = re.compile(r"^(_init|_fini|_edata|_end|__bss_start|__(asan|odr_asan|ubsan|lsan|"
                       r"sanitizer|tsan|msan)\w*|___asan\w*|__gcov\w*|__llvm\w*)$")


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.add(parts[2].split("@")[0])
    return names


def declared(include_dir):
    names = set()
    api = re.compile(r"SMTPC_API\s+[^;(]*?\b(smtpc_\w+)\s*\(", re.S)
    for root, _, files in os.walk(include_dir):
        for f in files:
            if f.endswith(".h"):
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    names.update(api.findall(fh.read()))
    return names


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib, include_dir = sys.argv[1], sys.argv[2]
    have = exported(lib)
    want = declared(include_dir)
    foreign = sorted(n for n in have if not n.startswith("smtpc_") and not TOOLCHAIN.match(n))
    missing = sorted(want - have)
    undeclared = sorted(n for n in have if n.startswith("smtpc_") and n not in want)

    for n in foreign:
        print(f"exported without the smtpc_ prefix: {n}")
    for n in missing:
        print(f"declared SMTPC_API but not exported: {n}")
    for n in undeclared:
        # An internal helper that escaped hidden visibility would become
        # ABI the moment someone links against it.
        print(f"exported but not declared SMTPC_API in a public header: {n}")
    print(f"{len(have)} exported, {len(want)} declared, "
          f"{len(foreign)} foreign, {len(missing)} missing")
    return 1 if foreign or missing or undeclared or not want else 0


if __name__ == "__main__":
    sys.exit(main())
