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
  {"mta": {...}}                  a pipelining SMTP server (RFC 2920) with
                                  CHUNKING/BINARYMIME (RFC 3030): replies
                                  are held until every command received has
                                  been read, like Postfix, and each flush is
                                  counted as a turn (a round trip the client
                                  waited for). Options: "ehlo" (the
                                  extension lines), "mail"/"end" (message
                                  number from 1 -> reply to its MAIL / to
                                  its end of data or BDAT LAST), "bdat"
                                  ("n.k" -> reply to chunk k of message n),
                                  "close_after" (close once that many
                                  messages were answered). Every message is
                                  kept in the log ("messages").
  {"sleep": 1.5}                  say nothing for that many seconds
  {"close": null}                 close the connection now

Everything the client sent is logged line by line (BDAT chunk bytes
excepted), so tests can check, for example, that no MAIL command was ever
sent.

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
        # Replies held by "mta" go out when every byte received has been
        # used: the client must now wait for them (one turn).
        if getattr(self, "held", None):
            self.sock.sendall(self.held)
            self.held = b""
            self.log.turn()
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
        elif kind == "mta":
            self.mta(arg or {})
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

    def read_exact(self, n):
        while len(self.buf) < n:
            self.buf += self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def mta(self, opts):
        ehlo = opts.get("ehlo", ["PIPELINING", "8BITMIME", "CHUNKING", "BINARYMIME",
                                 "SIZE 100000000"])
        self.held = b""

        def reply(text):
            self.held += text.encode("latin-1") + b"\r\n"

        number, sender, rcpts, chunks, mode = 0, None, [], [], None

        def finish(data, default):
            nonlocal sender
            text = opts.get("end", {}).get(str(number), default)
            self.log.message({"number": number, "from": sender, "rcpts": list(rcpts),
                              "mode": mode, "data": data.decode("latin-1"),
                              "accepted": text.startswith("2")})
            reply(text)
            sender = None
            if opts.get("close_after") == number:
                self.sock.sendall(self.held)
                self.held = b""
                raise StopIteration

        while True:
            line = self.read_line()
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                lines = ["mta.test"] + (ehlo if verb == "EHLO" else [])
                reply("\r\n".join("250%s%s" % ("-" if i < len(lines) - 1 else " ", l)
                                    for i, l in enumerate(lines)))
            elif verb == "MAIL":
                number += 1
                rcpts, chunks, mode = [], [], None
                text = opts.get("mail", {}).get(str(number), "250 2.1.0 ok")
                sender = line[10:].split(">", 1)[0].lstrip("<") if text[0] == "2" else None
                reply(text)
            elif verb == "RCPT":
                if sender is None:
                    reply("503 5.5.1 no MAIL")
                else:
                    rcpts.append(line[8:].split(">", 1)[0].lstrip("<"))
                    reply("250 2.1.5 ok")
            elif verb == "DATA":
                if sender is None or not rcpts:
                    reply("554 5.5.1 no valid recipients")
                    continue
                reply("354 go ahead")
                mode, body = "DATA", []
                while True:
                    l = self.read_line()
                    if l == ".":
                        break
                    body.append(l[1:] if l.startswith(".") else l)
                finish("".join(x + "\r\n" for x in body).encode("latin-1"), "250 2.0.0 queued")
            elif verb == "BDAT":
                parts = line.split()
                size, last = int(parts[1]), len(parts) > 2 and parts[2].upper() == "LAST"
                data = self.read_exact(size)  # raw bytes, never parsed as commands
                if sender is None or not rcpts:
                    reply("503 5.5.1 no valid recipients")
                    continue
                mode = "BDAT"
                chunks.append(data)
                bad = opts.get("bdat", {}).get("%d.%d" % (number, len(chunks)))
                if bad:
                    reply(bad)
                    sender = None
                elif last:
                    finish(b"".join(chunks), "250 2.0.0 queued")
                else:
                    reply("250 2.0.0 %d octets" % size)
            elif verb == "RSET":
                sender, rcpts, chunks = None, [], []
                reply("250 2.0.0 reset")
            elif verb == "QUIT":
                reply("221 2.0.0 bye")
                self.sock.sendall(self.held)
                self.held = b""
                raise StopIteration
            else:
                reply("250 ok")

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
        self.messages = []
        self.turns = 0

    def line(self, text):
        with self.lock:
            self.lines.append(text)

    def event(self, text):
        with self.lock:
            self.events.append(text)

    def message(self, record):
        with self.lock:
            self.messages.append(record)

    def turn(self):
        with self.lock:
            self.turns += 1


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

    @property
    def messages(self):
        return list(self.log.messages)

    @property
    def turns(self):
        return self.log.turns

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
            json.dump({"lines": srv.lines, "events": srv.events,
                       "messages": srv.messages, "turns": srv.turns}, f)
    srv.listener.close()
    # A thread stuck in a step must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
