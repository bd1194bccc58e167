#!/usr/bin/python3
"""Every public header compiles on its own, cleanly, as C99, C11 and C++.

Review finding #20: message.h re-declared `typedef struct smtpc_client`,
which C99 -pedantic rejects when both it and client.h are included. Each
header (and the umbrella smtpc.h) is compiled alone, then all together in
both orders, with warnings as errors and no extensions.

Usage: check_headers.py INCLUDE-DIR
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

INCLUDE = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "include"

DIALECTS = [
    ("cc", ["-std=c99"], "c"),
    ("cc", ["-std=c11"], "c"),
    ("c++", ["-std=c++11"], "c++"),
    ("c++", ["-std=c++17"], "c++"),
]
WARN = ["-Wall", "-Wextra", "-Wpedantic", "-pedantic-errors", "-Werror"]


def headers():
    found = ["smtpc.h"]
    for name in sorted(os.listdir(os.path.join(INCLUDE, "smtpc"))):
        if name.endswith(".h"):
            found.append("smtpc/" + name)
    return found


class PublicHeaders(unittest.TestCase):
    def compile(self, includes):
        src = "".join(f"#include <{h}>\n" for h in includes) + "int smtpc_header_check;\n"
        for compiler, std, lang in DIALECTS:
            exe = shutil.which(os.environ.get("CC" if lang == "c" else "CXX", compiler))
            self.assertIsNotNone(exe, f"no {lang} compiler")
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "check." + ("c" if lang == "c" else "cc"))
                with open(path, "w") as f:
                    f.write(src)
                r = subprocess.run([exe, *std, *WARN, "-I", INCLUDE, "-c", path,
                                    "-o", os.path.join(tmp, "check.o")],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0,
                                 f"{' '.join(includes)} as {' '.join(std)}:\n{r.stderr}")

    def test_each_header_alone(self):
        for h in headers():
            with self.subTest(header=h):
                self.compile([h])

    def test_all_headers_together(self):
        hs = headers()
        self.compile(hs)
        self.compile(list(reversed(hs)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
