#!/usr/bin/python3
"""Each source file includes only its own layer's headers and the
non-internal headers of the layers below it (docs/ARCHITECTURE.md).

A layer is a folder of src/. Layers of equal rank (engine, message,
transport) do not include each other. A header whose name ends in
_internal.h is private to its folder unless EXCEPTIONS names the file that
may include it and why. Public headers (smtpc/...), system headers (<...>)
and the generated build configuration (smtpc_config.h) are allowed anywhere.

Usage: check_layers.py SOURCE-ROOT
"""

import os
import re
import sys
import unittest

ROOT = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.getcwd()
SRC = os.path.join(ROOT, "src")

# Bottom up: a layer may include from every layer of a lower rank.
RANK = {
    "base": 0,       # allocator hook, error record, version, constant-time compare
    "port": 1,       # clock, random bytes, errno text: the only OS-facing code
    "codec": 2,      # reply parser, command writer, dot-stuffer, base64, QP, headers
    "sasl": 3,       # AUTH mechanisms
    "dkim": 3,       # DKIM signing (canonicalization, signatures)
    "engine": 4,     # sans-io SMTP
    "message": 4,    # streaming MIME
    "transport": 4,  # socket and callback transports
    "tls": 5,        # TLS over any transport
    "client": 6,     # the blocking driver
}

# (including file, included internal header) -> why it is allowed.
EXCEPTIONS = {
    ("tls/tls_mbedtls.h", "transport_internal.h"):
        "a TLS transport is a transport: it fills in the transport vtable",
    ("tls/tls_disabled.c", "transport_internal.h"):
        "the TLS-less stubs share the transport constructor signature",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def owners():
    """header name -> layer folder that holds it."""
    found = {}
    for layer in RANK:
        folder = os.path.join(SRC, layer)
        for name in os.listdir(folder):
            if name.endswith(".h"):
                assert name not in found, f"{name} exists in two layers"
                found[name] = layer
    return found


def violations():
    own = owners()
    bad = []
    for layer in RANK:
        folder = os.path.join(SRC, layer)
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h")):
                continue
            rel = f"{layer}/{name}"
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                if inc.startswith("smtpc/") or inc == "smtpc_config.h":
                    continue
                other = own.get(inc)
                if other is None:
                    bad.append(f"{rel}: includes {inc}, which no layer holds")
                elif other == layer:
                    continue
                elif (rel, inc) in EXCEPTIONS:
                    continue
                elif RANK[other] > RANK[layer]:
                    bad.append(f"{rel}: includes {inc} from {other}, a higher layer")
                elif RANK[other] == RANK[layer]:
                    bad.append(f"{rel}: includes {inc} from {other}, a sibling layer")
                elif inc.endswith("_internal.h"):
                    bad.append(f"{rel}: includes {inc}, the internals of {other}")
    return bad


class Layers(unittest.TestCase):
    def test_every_folder_is_a_layer(self):
        folders = {d for d in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, d))}
        self.assertEqual(folders, set(RANK))
        loose = [f for f in os.listdir(SRC) if f.endswith((".c", ".h"))]
        self.assertEqual(loose, [], "source files outside a layer folder")

    def test_includes_follow_the_layers(self):
        self.assertEqual(violations(), [])

    def test_exceptions_are_still_needed(self):
        for (rel, inc), why in EXCEPTIONS.items():
            with open(os.path.join(SRC, rel), encoding="utf-8") as f:
                self.assertIn(f'"{inc}"', f.read(), f"stale exception ({why})")


if __name__ == "__main__":
    unittest.main(verbosity=2)
