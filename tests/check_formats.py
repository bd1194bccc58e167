#!/usr/bin/python3
"""No printf length modifier (l, ll, z, j, t, L, and the PRI* macros that
expand to them) in the format strings of src/.

newlib-nano's printf, the one firmware links, knows none of them: "%lld"
prints "ld", "%zu" prints "zu" (issue 14 found the Date header and error
texts broken that way). 64-bit and size_t values go through
smtpc_fmt_u64 / smtpc_fmt_i64 / smtpc_fmt_size (src/base/fmt.h) and "%s".
Comments are not checked; every string literal is.

Usage: check_formats.py SOURCE-ROOT
"""

import os
import re
import sys
import unittest

ROOT = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.getcwd()
SRC = os.path.join(ROOT, "src")

# A conversion: flags, width, precision, then a length modifier.
BAD_CONVERSION = re.compile(r"%[-+ #0]*(\*|\d+)?(\.(\*|\d+))?(hh|ll|l|z|j|t|L|h)[a-zA-Z]")
# <inttypes.h>'s macros are length-modified conversions in disguise.
BAD_MACRO = re.compile(r"\bPRI[diouxX](8|16|32|64|MAX|PTR|LEAST\d+|FAST\d+)\b")
LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def strip_comments(text):
    """Comments out, string literals kept (a literal may hold '/*')."""
    out, pos = [], 0
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|/\*.*?\*/|//[^\n]*',
                         text, re.S):
        out.append(text[pos:m.start()])
        tok = m.group(0)
        out.append(tok if tok[0] in "\"'" else "\n" * tok.count("\n"))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def findings(text, name):
    code = strip_comments(text)
    bad = []
    for lineno, line in enumerate(code.splitlines(), 1):
        for lit in LITERAL.findall(line):
            # "%%" is a literal percent sign, never a conversion.
            for m in BAD_CONVERSION.finditer(lit.replace("%%", "")):
                bad.append(f"{name}:{lineno}: {m.group(0)} in {lit}")
        for m in BAD_MACRO.finditer(line):
            bad.append(f"{name}:{lineno}: {m.group(0)}")
    return bad


def scan():
    bad = []
    for folder, _, names in os.walk(SRC):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    bad += findings(f.read(), os.path.relpath(path, ROOT))
    return bad


class Formats(unittest.TestCase):
    def test_src_has_no_length_modifiers(self):
        self.assertEqual(scan(), [])

    def test_the_check_sees_them(self):
        # The check itself: each modifier caught, comments and %% ignored.
        for fmt in ("%lld", "%llu", "%zu", "%ld", "%lu", "%jd", "%td", "%Lf", "%-5zu",
                    "%08llx", "%.*lu", "%hhu"):
            self.assertTrue(findings(f'f("x {fmt} y");', "t.c"), fmt)
        self.assertTrue(findings('f("%" PRIu64);', "t.c"))
        self.assertEqual(findings('/* "%zu" */ f("%d %u %s %x %%llu %.*s");', "t.c"), [])
        self.assertEqual(findings('// printf("%lld")\nint x;', "t.c"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
