#!/usr/bin/python3
"""Send benchmark, Python side: the scenarios of bench_send_common.h over
smtplib, one SMTP connection and one sendmail() per message, then QUIT.

    bench_send_smtplib.py HOST PORT small|multi|big [COUNT]

smtplib takes a message only as one bytes/str object, so the big message
is built in memory whole before the timer starts (and smtplib copies it
again to dot-stuff it): its peak RSS includes that.
"""
import resource
import smtplib
import sys
import time

FROM = "sender@example.org"
RCPTS = ["rcpt1@example.org", "rcpt2@example.org", "rcpt3@example.org"]
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LINE = 64
BLOCK_LINES = 62


def block():
    lines = []
    for i in range(BLOCK_LINES):
        lines.append("".join(ALPHABET[(i + j) % 62] for j in range(LINE - 2)) + "\r\n")
    return "".join(lines).encode("ascii")


def message(name, n_rcpts, body_len):
    header = (f"From: <{FROM}>\r\nTo: {', '.join(RCPTS[:n_rcpts])}\r\n"
              f"Subject: smtpc send bench {name}\r\n\r\n").encode("ascii")
    b = block()
    whole, rest = divmod(body_len, len(b))
    return header + b * whole + b[:rest]


def cpu(ru):
    return ru.ru_utime + ru.ru_stime


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: bench_send_smtplib.py HOST PORT small|multi|big [COUNT]")
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    defaults = {"small": (2000, 1), "multi": (200, 3), "big": (64, 1)}
    if name not in defaults:
        sys.exit(f"unknown scenario {name}")
    count, n_rcpts = defaults[name]
    if len(sys.argv) > 4:
        count = int(sys.argv[4])
    big = name == "big"
    msg = message(name, n_rcpts, count * 1024 * 1024 if big else 1024)
    messages = 1 if big else count
    rcpts = RCPTS[:n_rcpts]

    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    smtp = smtplib.SMTP(host, port, local_hostname="localhost")
    for i in range(messages):
        refused = smtp.sendmail(FROM, rcpts, msg)
        if refused:
            sys.exit(f"message {i}: refused {refused}")
    smtp.quit()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    t1 = time.perf_counter()

    print(f"client=smtplib messages={messages} rcpts={n_rcpts} bytes={len(msg) * messages} "
          f"wall_s={t1 - t0:.6f} cpu_s={cpu(r1) - cpu(r0):.6f} maxrss_kb={r1.ru_maxrss}")


if __name__ == "__main__":
    main()
