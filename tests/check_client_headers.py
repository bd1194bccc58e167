#!/usr/bin/python3
"""The blocking client is one driver of the engine, using its public API.

Consolidation issue ("the engine is the product: the client must be just one
driver of it"): src/client.c read the engine's internals (reply queue,
timeouts, refusal flags) through engine_internal.h and src/client_message.c
read the message's through message_internal.h, so a user's own driver could
not do what the client does. Each file below may include public headers
(smtpc.h, smtpc/*.h), system headers (<...>), the base layer (below every
layer) and only the internal headers listed for it.

Usage: check_client_headers.py SOURCE-ROOT
"""

import os
import re
import sys
import tempfile
import unittest

ROOT = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "."

# Below every layer: allocation, error records, the line-end scan, the
# default random source.
# smtpc_config.h is the build's generated configuration (SMTPC_HAVE_*), not a layer.
BASE = {"alloc.h", "error.h", "bytescan.h", "fmt.h", "random.h", "port.h", "service_port.h",
        "smtpc_config.h"}

# File -> the non-public headers it may include besides BASE.
ALLOWED = {
    "src/client/client.c": {"client_internal.h"},
    "src/client/client_message.c": {"client_internal.h"},
    "src/client/client_batch.c": {"client_internal.h"},
    "src/client/client_internal.h": set(),
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def is_public(header):
    return header == "smtpc.h" or header.startswith("smtpc/")


def violations(path, allowed):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return sorted(h for h in INCLUDE.findall(text)
                  if not is_public(h) and h not in BASE and h not in allowed)


class ClientHeaders(unittest.TestCase):
    def test_only_public_and_allowed_headers(self):
        for rel, allowed in sorted(ALLOWED.items()):
            with self.subTest(file=rel):
                path = os.path.join(ROOT, rel)
                self.assertTrue(os.path.isfile(path), f"{rel} is gone: update ALLOWED")
                bad = violations(path, allowed)
                self.assertEqual(bad, [], f"{rel} includes non-public headers {bad}; use "
                                          "or add public calls instead")

    def test_check_sees_a_violation(self):
        # The check itself: an internal header is caught, public, system and
        # base headers pass.
        with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
            f.write('#include <stdio.h>\n#include "alloc.h"\n#include "smtpc/engine.h"\n'
                    '#include "smtpc.h"\n  #  include "engine_internal.h"\n'
                    '#include "client_internal.h"\n')
            path = f.name
        try:
            self.assertEqual(violations(path, {"client_internal.h"}), ["engine_internal.h"])
            self.assertEqual(violations(path, set()),
                             ["client_internal.h", "engine_internal.h"])
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
