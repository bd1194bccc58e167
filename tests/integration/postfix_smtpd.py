#!/usr/bin/python3
"""A real Postfix smtpd on 127.0.0.1 for the tests, with a throwaway
configuration and no mail system behind it: Postfix's master runs in the
foreground (-d) from a temporary directory, with only two services, smtpd
on a free port and trivial-rewrite (which smtpd asks about every address).
smtpd hands each message through its before-queue proxy
(smtpd_proxy_filter) to an aiosmtpd that records it, so nothing is queued
or delivered. The context manager stops master (which stops its children)
and removes the directory.

smtpd offers PIPELINING, CHUNKING, 8BITMIME, SMTPUTF8 and DSN: this is where
BDAT meets a production implementation. Postfix wants root (it drops to
mail_owner "postfix"); available() says whether it can run here.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from harness import AiosmtpdServer, start_own_server

MASTER = "/usr/lib/postfix/sbin/master"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {queue}
mail_owner = postfix
myhostname = mx.smtpc.test
smtpd_banner = $myhostname ESMTP {banner}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
local_recipient_maps =
relay_recipient_maps =
alias_maps =
alias_database =
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
smtpd_tls_security_level = none
smtpd_proxy_filter = 127.0.0.1:{proxy_port}
smtpd_proxy_timeout = 100s
message_size_limit = 50000000
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
rewrite unix - - n - - trivial-rewrite
"""


def available():
    if not os.access(MASTER, os.X_OK) or os.geteuid() != 0:
        return False
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return False
    return True


class PostfixSmtpd:
    """Context manager: .port is Postfix's smtpd, .proxy.handler.envelopes
    what it passed on (aiosmtpd's records, smtpd's Received: line first)."""

    def __enter__(self):
        self.proxy = AiosmtpdServer().__enter__()
        self.dir = tempfile.mkdtemp(prefix="smtpc-postfix-")
        os.chmod(self.dir, 0o755)  # the postfix user reaches the queue through it
        conf = os.path.join(self.dir, "conf")
        queue = os.path.join(self.dir, "queue")
        os.mkdir(conf)
        uid = pwd.getpwnam("postfix").pw_uid
        for sub in ("", "pid", "private", "public"):
            os.mkdir(os.path.join(queue, sub))
            os.chown(os.path.join(queue, sub), uid, -1)
        # Named in the greeting, so that another program that took the port
        # (free when probed) before master bound it means another try.
        banner = "smtpc-postfix-" + os.urandom(6).hex()
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(queue=queue, proxy_port=self.proxy.port, banner=banner))

        def launch(port):
            with open(os.path.join(conf, "master.cf"), "w") as f:
                f.write(MASTER_CF.format(port=port))
            self.master = subprocess.Popen([MASTER, "-c", conf, "-d"], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
            return self.master

        def stop(proc):
            self._stop_master()
            return b""

        try:
            self.master, self.port = start_own_server("Postfix master", banner, launch, stop)
        except RuntimeError:
            self.__exit__(None, None, None)
            raise
        return self

    def _children(self):
        """master's children (smtpd, trivial-rewrite), from /proc."""
        kids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.master.pid:
                kids.append(int(entry))
        return kids

    def _stop_master(self):
        kids = self._children()
        self.master.terminate()
        try:
            self.master.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.master.kill()
            self.master.wait()
        # Its children exit on their own once master is gone; make sure.
        deadline = time.monotonic() + 10
        for pid in kids:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def __exit__(self, *exc):
        self._stop_master()
        self.proxy.__exit__(*exc)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False
