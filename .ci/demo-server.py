#!/usr/bin/python3
"""The demo's mail server: aiosmtpd on 127.0.0.1 at a free port. Writes the
port to the file named by argv[1], then prints every message it receives
(envelope and raw content) until SIGTERM or SIGINT."""
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Printer:
    async def handle_DATA(self, server, session, envelope):
        print("=" * 72)
        print(f"MAIL FROM: <{envelope.mail_from}>  {' '.join(envelope.mail_options)}")
        for rcpt in envelope.rcpt_tos:
            print(f"RCPT TO:   <{rcpt}>")
        print("-" * 72)
        sys.stdout.write(envelope.original_content.decode("utf-8", "replace"))
        print("=" * 72, flush=True)
        return "250 2.0.0 OK: printed by the demo server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    controller = Controller(Printer(), hostname="127.0.0.1", port=port)
    controller.start()
    with open(sys.argv[1], "w") as f:
        f.write(f"{port}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
