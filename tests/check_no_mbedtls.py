#!/usr/bin/python3
"""A build without TLS and without SASL crypto (-Dtls=disabled
-Dsasl_crypto=disabled) uses no mbedTLS at all: the library neither needs a
libmbed* shared object nor holds or wants an mbedtls_/psa_ symbol.

Usage: check_no_mbedtls.py LIBRARY (libsmtpc.so or libsmtpc.a)
"""

import re
import subprocess
import sys
import unittest

LIB = sys.argv.pop(1) if len(sys.argv) > 1 else None
MBEDTLS_SYMBOL = re.compile(r"\b(mbedtls_|psa_)\w*")


def symbols(path):
    out = subprocess.run(["nm", "-A", path], capture_output=True, text=True, check=True)
    return sorted({m.group(0) for m in MBEDTLS_SYMBOL.finditer(out.stdout)})


def needed(path):
    if path.endswith(".a"):
        return []
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)


class NoMbedtls(unittest.TestCase):
    def test_no_symbol(self):
        self.assertEqual(symbols(LIB), [])

    def test_no_shared_dependency(self):
        self.assertEqual([n for n in needed(LIB) if "mbed" in n], [])

    def test_the_check_sees_them(self):
        self.assertEqual([m.group(0) for m in MBEDTLS_SYMBOL.finditer(
            "U mbedtls_md_hmac\nT smtpc_x\nU psa_crypto_init\n")],
            ["mbedtls_md_hmac", "psa_crypto_init"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
