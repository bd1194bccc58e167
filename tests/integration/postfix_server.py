#!/usr/bin/python3
"""A real Postfix smtpd for the tests: a throwaway instance (its own
configuration and queue under a temporary directory) whose master listens
on one loopback port and puts every message on hold, so that the queue file
can be read back with postcat: the envelope as Postfix understood it (DSN
RET, ENVID, NOTIFY and ORCPT decoded) and the message itself. Nothing is
delivered anywhere.

The master runs in the foreground (-d) in a session of its own; leaving the
context manager stops it and every child it started (SIGTERM to the session,
then SIGKILL if it lingers) and removes the directory, so no daemon is left
running. Postfix's master must start as root (it switches to mail_owner);
AVAILABLE says whether this process can run it.

    with PostfixServer() as pf:
        ... pf.port ...
        for msg in pf.held(): msg["envelope"], msg["recipients"], msg["content"]
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import start_own_server

MASTER = "/usr/lib/postfix/sbin/master"
POSTCAT = "/usr/sbin/postcat"
AVAILABLE = os.path.exists(MASTER) and os.path.exists(POSTCAT) and os.geteuid() == 0
WHY_UNAVAILABLE = "Postfix's master needs root and /usr/lib/postfix/sbin/master"

QUEUES = ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
          "private", "saved", "trace", "pid", "public", "maildrop")

# Only what smtpd, cleanup and qmgr need to take a message onto the hold queue.
SERVICES = """\
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
discard unix - - n - - discard
postlog unix-dgram n - n - 1 postlogd
"""


class PostfixServer:
    def __init__(self, **main_cf):
        self.extra = main_cf
        # Named in the greeting, so that the harness tells this smtpd from
        # another program that took its port first.
        self.banner = "smtpc-postfix-" + os.urandom(6).hex()
        self.dir = None
        self.proc = None
        self.port = None

    def _write_config(self):
        etc = os.path.join(self.dir, "etc")
        spool = os.path.join(self.dir, "spool")
        os.makedirs(etc)
        for q in QUEUES:
            os.makedirs(os.path.join(spool, q))
        os.makedirs(os.path.join(self.dir, "data"))
        main = {
            "compatibility_level": "3.6",
            "queue_directory": spool,
            "data_directory": os.path.join(self.dir, "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "postfix.smtpc.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            # Every message waits on hold, to be read back with postcat.
            "smtpd_client_restrictions": "check_client_access static:HOLD",
            "default_transport": "discard",
            "maillog_file_prefixes": self.dir,
            "maillog_file": os.path.join(self.dir, "maillog"),
            "smtpd_banner": "$myhostname ESMTP " + self.banner,
        }
        main.update(self.extra)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write(f"{k} = {v}\n")
        # The ownership and modes postfix-files asks for.
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        for q in QUEUES:
            path = os.path.join(spool, q)
            if q != "pid":
                shutil.chown(path, "postfix", "postdrop" if q in ("public", "maildrop") else None)
            os.chmod(path, {"public": 0o710, "maildrop": 0o730, "pid": 0o755}.get(q, 0o700))
        os.chmod(self.dir, 0o755)
        return etc

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="smtpc-postfix-")
        self.etc = self._write_config()

        def launch(port):
            with open(os.path.join(self.etc, "master.cf"), "w") as f:
                f.write(f"127.0.0.1:{port} inet n - n - - smtpd\n" + SERVICES)
            self.proc = subprocess.Popen([MASTER, "-c", self.etc, "-d"], stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            return self.proc

        try:
            self.proc, self.port = start_own_server("Postfix", self.banner, launch,
                                                    lambda proc: self._stop())
        except RuntimeError as e:
            raise RuntimeError(f"{e} {self.log()}") from None
        return self

    def _stop(self):
        out = b""
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                out = self.proc.communicate(timeout=10)[0]
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                out = self.proc.communicate()[0]
            # Children that outlived the master (none should) go too.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc = None
        return out

    def __exit__(self, *exc):
        self._stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _postcat(self, flags, path):
        return subprocess.run([POSTCAT, "-c", self.etc, flags, path], capture_output=True,
                              check=True).stdout

    def held(self, expect=1, timeout=10.0):
        """The messages on hold once there are `expect` of them, each as
        {"envelope": {name: value}, "recipients": [{...}], "content": bytes}.
        Recipient dicts hold recipient, original_recipient, notify_flags and
        dsn_orig_rcpt as postcat shows them."""
        hold = os.path.join(self.dir, "spool", "hold")
        deadline = time.monotonic() + timeout
        while len(os.listdir(hold)) < expect and time.monotonic() < deadline:
            time.sleep(0.05)
        out = []
        for name in sorted(os.listdir(hold)):
            path = os.path.join(hold, name)
            env, rcpts, pending = {}, [], {}
            for line in self._postcat("-e", path).decode("utf-8", "replace").splitlines():
                key, _, value = line.partition(": ")
                if key == "named_attribute":
                    key, _, value = value.partition("=")
                if key in ("notify_flags", "dsn_orig_rcpt", "original_recipient"):
                    pending[key] = value
                elif key == "recipient":
                    pending["recipient"] = value
                    rcpts.append(pending)
                    pending = {}
                elif key in ("envelope_id", "ret_flags", "sender"):
                    env[key] = value
            # -b -h: the headers (Postfix's Received first) and the body as
            # stored, lines ending in LF.
            content = self._postcat("-bh", path)
            out.append({"envelope": env, "recipients": rcpts, "content": content})
        return out
