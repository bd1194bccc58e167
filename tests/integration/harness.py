"""Shared pieces of the integration tests: local SMTP servers, the driver
runner, and the byte-level expectations.

Run the scripts with /usr/bin/python3 (the Debian Python that has aiosmtpd),
passing the path of the smtpc_send driver as the first argument.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

DRIVER = None  # set by main() from argv[1]


# --------------------------------------------------------------------------
# Running our C programs
#
# SMTPC_TEST_WRAPPER is a command prefix (shell-split) put before every C
# program the tests spawn, e.g. "valgrind --error-exitcode=99 ...". meson
# test's own --wrapper cannot do this: it would wrap the Python interpreter.

WRAPPER = shlex.split(os.environ.get("SMTPC_TEST_WRAPPER", ""))
# The status the wrapper exits with when it found something (valgrind's
# --error-exitcode), so that it is told apart from the program's own codes.
WRAPPER_ERROR_EXIT = next((int(a.split("=", 1)[1]) for a in WRAPPER
                           if a.startswith("--error-exitcode=")), None)
# Waits sized for native speed are multiplied by this; valgrind runs the
# programs some 20-50 times slower.
TIMEOUT_SCALE = float(os.environ.get("SMTPC_TEST_TIMEOUT_SCALE") or (20 if WRAPPER else 1))
# Added to bounds on how long a program may take end to end (a timeout that
# must fire within X s): the wrapper's start-up and slowed execution come on
# top of the time the program waits, which itself must not be scaled.
WRAPPER_SLACK = float(os.environ.get("SMTPC_TEST_WRAPPER_SLACK") or (10 if WRAPPER else 0))

# What AddressSanitizer, LeakSanitizer and UBSan print. UBSan goes on after
# a report unless halt_on_error is set, so the exit status alone is not
# enough; and a test expecting a failure exit must not take a sanitizer's
# abort for one.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ")


# SMTPC_DRIVER_ARGS: options (shell-split) put before every driver run's own,
# so that a whole test script runs again in another mode: "--nonblocking"
# (issue 11) sends everything through the client's non-blocking mode and its
# poll loop, which run_driver then checks was really used.
DRIVER_ARGS = shlex.split(os.environ.get("SMTPC_DRIVER_ARGS", ""))


# Steps the drivers' poll loops made over the whole script.
NB_STEPS = [0]


def check_nonblocking(events, describe):
    """With --nonblocking, every driver run must report its poll loop (the
    "nonblocking" event), and its steps are counted. A single run may need
    none: a call runs as far as it can at once, and on a loaded machine a
    local server's reply is often there before the client looks."""
    if "--nonblocking" not in DRIVER_ARGS:
        return
    if not events:
        # The run stopped before its first client call (a setting refused
        # by this build, say): there was no operation to drive. A driver
        # that ignored --nonblocking would still report its calls.
        return
    loops = [e for e in events if e.get("event") == "nonblocking"]
    if not loops:
        raise AssertionError("--nonblocking: the driver did not report its poll loop\n"
                             + describe())
    NB_STEPS[0] += loops[-1]["steps"]


def check_nonblocking_total():
    """With --nonblocking, the script as a whole must have stepped its
    clients: else the non-blocking path was never exercised. Returns a
    message for the summary, or None."""
    if "--nonblocking" in DRIVER_ARGS and NB_STEPS[0] == 0:
        return "--nonblocking: no client was ever stepped by the poll loop"
    return None


def scaled(seconds):
    """A wait sized for native speed, scaled for the wrapper."""
    return seconds * TIMEOUT_SCALE


def time_bound(seconds):
    """An upper bound on a program's wall time, loosened under the wrapper."""
    return seconds + WRAPPER_SLACK


class ProgramFault(AssertionError):
    """A C program crashed, or the wrapper or a sanitizer reported an error.
    An AssertionError, so that every runner counts it as a failed test."""


def check_program(proc, argv):
    """Raise ProgramFault when proc (a finished subprocess) died of a signal,
    exited with the wrapper's error status, or printed a sanitizer report."""
    # With stderr=STDOUT the reports are in stdout.
    err = next((s for s in (proc.stderr, proc.stdout) if s is not None), "")
    if isinstance(err, bytes):
        err = err.decode(errors="replace")
    name = os.path.basename(argv[0])
    if WRAPPER and proc.returncode == WRAPPER_ERROR_EXIT:
        # Wrapper lines look like "==1234== ..." (valgrind's prefix).
        report = [line for line in err.splitlines() if re.match(r"==\d+==", line)]
        raise ProgramFault(f"{WRAPPER[0]} found errors in {name} (exit {proc.returncode}):\n"
                           + "\n".join(report or err.splitlines()[-80:]))
    found = [m for m in SANITIZER_MARKERS if m in err]
    if found:
        start = min(err.find(m) for m in found)
        raise ProgramFault(f"sanitizer report from {name} (exit {proc.returncode}):\n"
                           + err[max(0, start - 200):start + 8000])
    if proc.returncode < 0:
        raise ProgramFault(f"{name} killed by signal {-proc.returncode}:\n{err[-6000:]}")


def run_program(argv, timeout, **kwargs):
    """subprocess.run of one of our C programs: under SMTPC_TEST_WRAPPER,
    with timeout scaled, and checked with check_program."""
    argv = [str(a) for a in argv]
    proc = subprocess.run(WRAPPER + argv, timeout=scaled(timeout), **kwargs)
    check_program(proc, argv)
    return proc


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def refusing_port():
    """A port on 127.0.0.1 that refuses connections for as long as the block
    runs: bound, never listening. (A port that was merely free a moment ago
    may meanwhile be taken by another program that accepts.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def wait_own_server(port, proc, banner, timeout=10.0):
    """Wait until the server proc greets on port with a line containing
    banner. False when proc exited (it could not bind) or another program
    answers there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
                s.settimeout(2.0)
                greeting = s.makefile("rb").readline()
        except OSError:
            time.sleep(0.05)
            continue
        return banner.encode() in greeting
    raise RuntimeError(f"nothing greeted on 127.0.0.1:{port}")


def start_own_server(name, banner, launch, stop, tries=5):
    """Start a server on a port that was free when probed, and make sure it
    is the one answering there: a port is only known free until the server
    binds it, and another program may take it first. launch(port) starts the
    server with banner in its greeting and returns its Popen; stop(proc) ends
    one that lost the port and returns its output. Returns (proc, port);
    RuntimeError after tries ports."""
    out = b""
    for _ in range(tries):
        port = free_port()
        proc = launch(port)
        try:
            if wait_own_server(port, proc, banner):
                return proc, port
        except RuntimeError:
            pass
        out = stop(proc)
    raise RuntimeError(f"{name} did not start: {out!r}")


def expected_wire(body):
    """What a receiving server should store for body: every line end made
    CRLF (bare CR and bare LF included), and a final CRLF added when the
    body lacks one."""
    out = re.sub(rb"\r\n|\r|\n", b"\r\n", body)
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


# --------------------------------------------------------------------------
# aiosmtpd


class RecordingHandler:
    """Keeps every accepted envelope; refuses recipients containing "reject"
    with 550, and whole messages carrying an "X-Refuse: 552" header after
    the data with 552."""

    def __init__(self):
        self.envelopes = []
        self.peers = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 <%s>: recipient rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        head = content.split(b"\r\n\r\n", 1)[0]
        if re.search(rb"(?im)^X-Refuse: 552\r?$", head):
            return "552 5.3.4 message refused by policy"
        self.envelopes.append(
            {
                "mail_from": envelope.mail_from,
                "mail_options": list(envelope.mail_options),
                "rcpt_tos": list(envelope.rcpt_tos),
                "content": bytes(content),
                "peer": session.peer,
            }
        )
        return "250 2.0.0 OK queued"


class AiosmtpdServer:
    """aiosmtpd on 127.0.0.1 in a background thread (context manager)."""

    def __init__(self, **smtp_kwargs):
        self.handler = RecordingHandler()
        self.smtp_kwargs = smtp_kwargs
        self.controller = None
        self.port = None

    def __enter__(self):
        from aiosmtpd.controller import Controller

        last = None
        for _ in range(5):
            self.port = free_port()
            self.controller = Controller(
                self.handler, hostname="127.0.0.1", port=self.port, **self.smtp_kwargs
            )
            try:
                self.controller.start()
                return self
            except Exception as exc:  # port taken between probe and bind
                last = exc
        raise RuntimeError(f"aiosmtpd did not start: {last}")

    def __exit__(self, *exc):
        self.controller.stop()
        return False


# --------------------------------------------------------------------------
# Postfix smtp-sink

SINK = "/usr/sbin/smtp-sink"
SINK_MARK = b"=====SMTPC-SINK-RECORD====="


class SmtpSink:
    """Postfix's smtp-sink appending every transaction to one dump file."""

    def __init__(self, *extra_args):
        self.extra_args = list(extra_args)
        self.proc = None
        self.dir = None
        self.port = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="smtpc-sink-")
        # smtp-sink drops to -u's user when run as root; that user must be
        # able to write the dump.
        os.chmod(self.dir, 0o777)
        self.dump = os.path.join(self.dir, "dump")
        banner = "smtpc-sink-" + os.urandom(6).hex()

        def launch(port):
            args = [SINK, "-h", banner]
            if os.geteuid() == 0:
                args += ["-u", "nobody"]
            args += ["-S", SINK_MARK.decode() + "\\n", "-D", self.dump]
            args += self.extra_args
            args += [f"127.0.0.1:{port}", "100"]
            return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def kill(proc):
            proc.kill()
            return proc.communicate()[0]

        self.proc, self.port = start_own_server("smtp-sink", banner, launch, kill)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def records(self):
        """Each transaction as dict(mail_args, rcpt_args, content), content
        with LF line ends (smtp-sink writes text lines)."""
        try:
            with open(self.dump, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for chunk in data.split(SINK_MARK + b"\n")[1:]:
            lines = chunk.split(b"\n")
            mail_args, rcpt_args = None, []
            i = 0
            while not lines[i].startswith(b"Received: "):
                if lines[i].startswith(b"X-Mail-Args: "):
                    mail_args = lines[i][len(b"X-Mail-Args: "):].decode()
                elif lines[i].startswith(b"X-Rcpt-Args: "):
                    rcpt_args.append(lines[i][len(b"X-Rcpt-Args: "):].decode())
                i += 1
            # The Received header smtp-sink adds is three lines long, and it
            # ends each record with one empty line of its own.
            content = b"\n".join(lines[i + 3:])
            assert content.endswith(b"\n\n") or content == b"\n", content[-20:]
            out.append({"mail_args": mail_args, "rcpt_args": rcpt_args,
                        "content": content[:-1]})
        return out


# --------------------------------------------------------------------------
# The driver


class DriverResult:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.events = []
        for line in proc.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def of(self, kind):
        return [e for e in self.events if e["event"] == kind]

    @property
    def connect(self):
        found = self.of("connect")
        return found[0] if found else None

    @property
    def messages(self):
        return self.of("message")

    def describe(self):
        return (f"exit {self.returncode}\n--- stdout\n{self.stdout}"
                f"--- stderr (trace)\n{self.stderr[-6000:]}")


def run_driver(args, messages=(), timeout=60):
    """Run smtpc_send with args; messages is a list of (bytes, extra_args)
    or bytes, each written to a temporary file and passed as --message."""
    tmp = tempfile.mkdtemp(prefix="smtpc-msg-")
    try:
        argv = [DRIVER, "--trace"] + DRIVER_ARGS + list(args)
        for n, m in enumerate(messages):
            body, extra = (m, []) if isinstance(m, (bytes, bytearray)) else m
            path = os.path.join(tmp, f"m{n:04d}.eml")
            with open(path, "wb") as f:
                f.write(body)
            argv += ["--message", path] + list(extra)
        proc = run_program(argv, timeout, capture_output=True, text=True, errors="replace")
        result = DriverResult(proc)
        check_nonblocking(result.events, result.describe)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_message(subject, body, sender="sender@example.org", to="rcpt@example.org",
                 extra_headers=""):
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{zlib.crc32(subject.encode()):08x}@smtpc.test>\r\n{extra_headers}"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    return head.encode() + body


# Bodies that a careless client would corrupt or turn into SMTP commands.
TRICKY_BODIES = {
    "leading-dot": b".starts with a dot\r\nsecond line\r\n",
    "lone-dot-line": b"before\r\n.\r\nafter\r\n",
    "dots": b"..two dots\r\n...three dots\r\n.\r\n..\r\n",
    "dot-last-no-crlf": b"text\r\n.",
    "no-final-crlf": b"line one\r\nline two",
    "bare-lf": b"one\ntwo\n.\nthree\n",
    "bare-cr": b"one\rtwo\r.\rthree",
    "mixed-endings": b"a\r\nb\nc\rd\r\n\r\n.\n",
    "smuggle-lf-dot-lf": b"hello\n.\nMAIL FROM:<evil@example.org>\nRCPT TO:<x@example.org>\n",
    "smuggle-crlf-dot-crlf": b"hi\r\n.\r\nQUIT\r\n",
    "empty-lines": b"\r\n\r\n\r\n",
    "long-line": b"x" * 990 + b"\r\nshort\r\n",
}


def tricky_messages():
    return [make_message(f"tricky {name}", body) for name, body in TRICKY_BODIES.items()]


def main(argv=None):
    """unittest main with the driver path taken from argv[1] and a one-line
    summary at the end."""
    global DRIVER
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or not os.access(argv[1], os.X_OK):
        print("usage: %s PATH-TO-smtpc_send [unittest args]" % argv[0], file=sys.stderr)
        return 2
    DRIVER = os.path.abspath(argv.pop(1))
    prog = unittest.main(argv=argv, exit=False, verbosity=2)
    r = prog.result
    # Subtests report separately; count each failing test once.
    bad = {getattr(t, "test_case", t).id() for t, _ in r.failures + r.errors}
    failed = len(bad) + len(r.unexpectedSuccesses)
    skipped = len(r.skipped)
    passed = r.testsRun - failed - skipped
    name = os.path.basename(argv[0])
    print(f"{name}: {passed} passed, {failed} failed, {skipped} skipped")
    nb_problem = check_nonblocking_total()
    if nb_problem:
        print(f"{name}: {nb_problem}")
        return 1
    if "--nonblocking" in DRIVER_ARGS:
        print(f"{name}: the poll loops made {NB_STEPS[0]} steps")
    return 0 if failed == 0 and r.testsRun > 0 else 1
