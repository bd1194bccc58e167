#!/usr/bin/python3
"""A scripted TCP/TLS server for the faults a real SMTP server will not
produce on demand (refused STARTTLS, injected plaintext, handshake garbage,
silence, ...).

A script is a list of steps, each a one-key dict, run in order against each
accepted connection:

  {"send": "220 hi\\r\\n"}       send text (latin-1, so any byte can be given)
  {"send_hex": "16030100"}        send raw bytes
  {"expect": "EHLO"}              read a line; it must start with this text
                                  (case-insensitive), else the connection is
                                  closed and the mismatch logged
  {"read_line": null}             read one line, whatever it is
  {"read_bytes": 1}               wait for at least n raw bytes (e.g. the
                                  start of a ClientHello) and discard them
  {"tls": {"cert": "server", "client_ca": "ca"}}
                                  server-side TLS handshake on the socket with
                                  <certs>/<cert>.pem/.key; with client_ca the
                                  client must present a certificate issued by
                                  <certs>/<client_ca>.pem
  {"echo": null}                  echo everything back until the peer closes
  {"smtp": null}                  answer like a lenient SMTP server (EHLO
                                  -> 250, DATA -> 354 ... ".", QUIT -> 221)
                                  until QUIT or close
  {"smtp": {"ehlo": ["DSN", "REQUIRETLS", "STARTTLS"], "cert": "server"}}
                                  the same, advertising those EHLO keywords
                                  (default ["8BITMIME"]); with STARTTLS, a
                                  STARTTLS command gets 220 and a handshake
                                  with <certs>/<cert> (after which STARTTLS
                                  is no longer advertised)
  {"sleep": 1.5}                  say nothing for that many seconds
  {"close": null}                 close the connection now

Everything the client sent is logged line by line, so tests can check, for
example, that no MAIL command was ever sent.

Use it from Python:
    with ScriptedServer(steps, certs_dir) as srv: ... srv.port ... srv.lines
or from any test program:
    scripted_server.py [--certs DIR] [--connections N] [--log FILE] 'JSON'
which prints "PORT <n>" once listening and, at exit, writes the log (a JSON
object: {"lines": [...], "events": [...]}) to FILE.
"""

import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time

LINE_MAX = 65536


class ScriptError(Exception):
    pass


class Connection:
    def __init__(self, sock, certs, log):
        self.sock = sock
        self.certs = certs
        self.log = log
        self.buf = b""

    def _recv(self, timeout=30.0):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise ScriptError("peer closed")
        return data

    def read_line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                raise ScriptError("line too long")
            self.buf += self._recv()
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.rstrip(b"\r").decode("latin-1")
        self.log.line(text)
        return text

    def step(self, kind, arg):
        if kind == "send":
            self.sock.sendall(arg.encode("latin-1"))
        elif kind == "send_hex":
            self.sock.sendall(bytes.fromhex(arg))
        elif kind == "expect":
            line = self.read_line()
            if not line.upper().startswith(arg.upper()):
                raise ScriptError("expected %r, got %r" % (arg, line))
        elif kind == "read_line":
            self.read_line()
        elif kind == "read_bytes":
            while len(self.buf) < int(arg):
                self.buf += self._recv()
            self.buf = self.buf[int(arg):]
        elif kind == "tls":
            self.start_tls(arg or {})
        elif kind == "echo":
            self.echo()
        elif kind == "smtp":
            self.smtp(arg or {})
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "close":
            raise StopIteration
        else:
            raise ScriptError("unknown step %r" % kind)

    def start_tls(self, opts):
        if self.buf:
            # What the client sent before the handshake would otherwise be
            # lost silently; tests want to know.
            self.log.event("plaintext before handshake: %r" % self.buf)
            self.buf = b""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert = os.path.join(self.certs, opts.get("cert", "server"))
        ctx.load_cert_chain(cert + ".pem", cert + ".key")
        if opts.get("client_ca"):
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(self.certs, opts["client_ca"] + ".pem"))
        self.sock.settimeout(30.0)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.log.event("tls failed: %s" % e)
            raise StopIteration
        peer = self.sock.getpeercert()
        self.log.event("tls ok %s%s" % (self.sock.version(),
                                         " client cert" if peer else ""))

    def echo(self):
        while True:
            try:
                data = self.buf or self._recv()
            except ScriptError:
                return
            self.buf = b""
            self.sock.sendall(data)

    def smtp(self, opts):
        keywords = list(opts.get("ehlo", ["8BITMIME"]))
        while True:
            line = self.read_line()
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                reply = "".join("250-%s\r\n" % k for k in ["scripted"] + keywords[:-1])
                reply += "250 %s\r\n" % (keywords[-1] if keywords else "HELP")
                self.sock.sendall(reply.encode("latin-1"))
            elif verb == "STARTTLS" and "STARTTLS" in keywords:
                self.sock.sendall(b"220 go ahead\r\n")
                self.start_tls({"cert": opts.get("cert", "server")})
                keywords.remove("STARTTLS")
            elif verb == "DATA":
                self.sock.sendall(b"354 go ahead\r\n")
                while self.read_line() != ".":
                    pass
                self.sock.sendall(b"250 2.0.0 queued\r\n")
            elif verb == "QUIT":
                self.sock.sendall(b"221 bye\r\n")
                raise StopIteration
            else:
                self.sock.sendall(b"250 ok\r\n")

    def run(self, steps):
        try:
            for step in steps:
                (kind, arg), = step.items()
                self.step(kind, arg)
        except StopIteration:
            pass
        except (ScriptError, OSError) as e:
            self.log.event("stopped: %s" % e)
        finally:
            try:
                self.sock.close()
            except OSError:
                pass


class Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.lines = []
        self.events = []

    def line(self, text):
        with self.lock:
            self.lines.append(text)

    def event(self, text):
        with self.lock:
            self.events.append(text)


class ScriptedServer:
    """Listens on 127.0.0.1 (an ephemeral port) and runs steps on each of up
    to `connections` connections, one after the other, in a thread."""

    def __init__(self, steps, certs=None, connections=1):
        self.steps = steps
        self.certs = certs or "."
        self.connections = connections
        self.log = Log()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def lines(self):
        return list(self.log.lines)

    @property
    def events(self):
        return list(self.log.events)

    def _serve(self):
        for _ in range(self.connections):
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            Connection(sock, self.certs, self.log).run(self.steps)

    def start(self):
        self.thread.start()
        return self

    def stop(self, wait=5.0):
        self.thread.join(wait)
        self.listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--certs", default=".")
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--log")
    ap.add_argument("--lifetime", type=float, default=60.0,
                    help="exit after this many seconds whatever happens")
    ap.add_argument("script", help="JSON list of steps")
    args = ap.parse_args()

    srv = ScriptedServer(json.loads(args.script), args.certs, args.connections)
    srv.start()
    print("PORT %d" % srv.port, flush=True)
    srv.thread.join(args.lifetime)
    if args.log:
        with open(args.log, "w") as f:
            json.dump({"lines": srv.lines, "events": srv.events}, f)
    srv.listener.close()
    # A thread stuck in a step must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
