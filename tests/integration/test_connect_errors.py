#!/usr/bin/python3
"""Connection failures reach the caller as distinct codes with readable
messages: refused, unresolvable, silent server, server hanging up.

Usage: /usr/bin/python3 test_connect_errors.py PATH-TO-smtpc_send

SMTPC_TEST_SOCKETS=0 (set by meson for -Dsockets=false): smtpc_send connects
through the tests' own transport, so the checks of the library's refused and
unresolvable texts are skipped (tests/unit/test_transport.c checks that such
a build says SMTPC_ENOTSUP instead); the rest apply to the client unchanged.
"""

import os
import socket
import sys
import threading
import time
import unittest

import harness
from harness import make_message, run_driver

MESSAGE = [make_message("never sent", b"body\r\n")]
HAVE_SOCKETS = os.environ.get("SMTPC_TEST_SOCKETS", "1") != "0"
NO_SOCKETS = ("the library's socket transport is compiled out (-Dsockets=false); "
              "test_transport.c checks its SMTPC_ENOTSUP")


def driver_args(host, port, *more):
    return ["--host", host, "--port", str(port), "--security", "plain",
            "--to", "rcpt@example.org"] + list(more)


class ConnectErrorTests(unittest.TestCase):
    def assertConnectFails(self, result, name):
        self.assertEqual(result.returncode, 2, result.describe())
        self.assertEqual(result.connect["rc_name"], name, result.describe())
        self.assertEqual(result.connect["error"]["name"], name, result.describe())
        self.assertNotEqual(result.connect["error"]["message"], "")
        self.assertEqual(result.messages, [])

    @unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
    def test_connection_refused(self):
        # Bound but not listening: connects are refused, and the port cannot
        # be taken by someone else while the test runs.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            result = run_driver(driver_args("127.0.0.1", port), MESSAGE)
        self.assertConnectFails(result, "SMTPC_ECONNREFUSED")
        self.assertIn(f"127.0.0.1:{port}", result.connect["error"]["message"])

    @unittest.skipUnless(HAVE_SOCKETS, NO_SOCKETS)
    def test_dns_failure(self):
        result = run_driver(driver_args("nonexistent.invalid", 25), MESSAGE)
        self.assertConnectFails(result, "SMTPC_ERESOLVE")
        self.assertIn("nonexistent.invalid", result.connect["error"]["message"])

    def test_silent_server_times_out(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            start = time.monotonic()
            result = run_driver(driver_args("127.0.0.1", port, "--timeout-ms", "400"),
                                MESSAGE)
            elapsed = time.monotonic() - start
        self.assertConnectFails(result, "SMTPC_ETIMEDOUT")
        self.assertLess(elapsed, harness.time_bound(10), "the greeting timeout was not enforced")

    def test_server_hangs_up(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]

            def accept_and_close():
                conn, _ = s.accept()
                conn.close()

            t = threading.Thread(target=accept_and_close, daemon=True)
            t.start()
            result = run_driver(driver_args("127.0.0.1", port), MESSAGE)
            t.join(5)
        self.assertConnectFails(result, "SMTPC_ECLOSED")

    def test_greeting_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]

            def refuse():
                conn, _ = s.accept()
                conn.sendall(b"554 5.3.2 no service here\r\n")
                # A polite client says QUIT after a 554 greeting; answer it.
                try:
                    conn.settimeout(5)
                    while True:
                        data = conn.recv(1024)
                        if not data:
                            break
                        if data.upper().startswith(b"QUIT"):
                            conn.sendall(b"221 2.0.0 bye\r\n")
                            break
                except OSError:
                    pass
                conn.close()

            t = threading.Thread(target=refuse, daemon=True)
            t.start()
            result = run_driver(driver_args("127.0.0.1", port), MESSAGE)
            t.join(10)
        self.assertConnectFails(result, "SMTPC_EGREETING")
        self.assertEqual(result.connect["error"]["reply_code"], 554)


    def test_port_out_of_range_refused(self):
        # Review finding #8: "99999" used to dial port 34463 (the message
        # still said 99999) and "65536" port 0. Now the setter refuses them
        # before anything is dialled, naming the port and the valid range.
        for port in ("0", "65536", "99999", "-1", "25x", " 25"):
            with self.subTest(port=port):
                result = run_driver(driver_args("127.0.0.1", port), MESSAGE)
                self.assertEqual(result.returncode, 3, result.describe())
                self.assertIn("bad setting", result.stderr)
                self.assertIn('"%s"' % port, result.stderr)
                self.assertIn("1..65535", result.stderr)
                self.assertEqual(result.messages, [])


if __name__ == "__main__":
    sys.exit(harness.main())
