#!/usr/bin/python3
"""Soak against Postfix's smtp-sink: 10,000 messages over one connection,
then 1,000 sequential connections with one message each. The C program
(soak.c) samples its heap through the allocator hook and its RSS from
/proc/self/status, checks that neither grows after a warm-up, and prints the
figures; this runner owns the smtp-sink process and always stops it.

Usage: /usr/bin/python3 test_soak.py PATH-TO-smtpc_soak [MESSAGES CONNECTIONS]
Exit status 0 on success, 77 (skipped) when smtp-sink is not installed.
"""

import os
import subprocess
import sys
import time

import harness

SINK = "/usr/sbin/smtp-sink"
SKIP = 77
# soak.c's defaults, 10,000 messages and 1,000 connections, multiplied by
# this when no counts are given, for wrappers slower than valgrind (which
# runs the full soak in seconds). The counts stay above soak.c's warm-up (100
# and 10) so that the heap is still judged.
SOAK_SCALE = float(os.environ.get("SMTPC_SOAK_SCALE") or 1)


def start_sink():
    """smtp-sink on a free port, once it serves: (proc, port); RuntimeError
    when it would not start."""
    banner = "smtpc-soak-" + os.urandom(6).hex()

    def launch(port):
        # -a: no AUTH offered (the soak sends none); -u: smtp-sink refuses to
        # run as root without a user to drop to.
        cmd = [SINK, "-a", "-h", banner]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += [f"127.0.0.1:{port}", "64"]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def end(proc):
        stop(proc)
        return proc.stdout.read()

    return harness.start_own_server("smtp-sink", banner, launch, end)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    if not os.access(SINK, os.X_OK):
        print(f"SKIP: {SINK} not installed (Debian: postfix)")
        return SKIP
    soak = argv[1]
    extra = argv[2:4]
    if not extra and SOAK_SCALE != 1:
        extra = [str(max(int(10000 * SOAK_SCALE), 200)), str(max(int(1000 * SOAK_SCALE), 20))]
    try:
        proc, port = start_sink()
    except RuntimeError as e:
        print(f"FAIL: {e}")
        return 1
    try:
        t0 = time.monotonic()
        run = harness.run_program([soak, "127.0.0.1", str(port)] + extra, 280,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        elapsed = time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        print((e.stdout or b"").decode(errors="replace"))
        print(f"FAIL: the soak did not finish within {e.timeout:.0f} s")
        return 1
    except harness.ProgramFault as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        stop(proc)

    out = run.stdout.decode(errors="replace")
    print(out, end="")
    print(f"wall time {elapsed:.1f} s")
    results = [line for line in out.splitlines() if line.startswith("result ")]
    if run.returncode != 0 or len(results) != 2 or "SOAK OK" not in out:
        print(f"FAIL: soak exited with {run.returncode}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
