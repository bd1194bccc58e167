#!/usr/bin/python3
"""Python's email package building the message bench_mime builds: a short
text body and one large attachment, serialized with as_bytes().

usage: bench_mime_py.py [MiB]   (default 256)
"""
import resource
import sys
import time
from email.message import EmailMessage

mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
block = bytearray(1 << 20)
x = 88172645463325252
mask = (1 << 64) - 1
for i in range(len(block)):
    x ^= (x << 13) & mask
    x ^= x >> 7
    x ^= (x << 17) & mask
    block[i] = x & 0xFF
data = bytes(block) * mib  # the email package needs the whole attachment in memory

t0 = time.monotonic()
msg = EmailMessage()
msg["From"] = "A <a@example.com>"
msg["To"] = "B <b@example.com>"
msg["Subject"] = "bench"
msg.set_content("attached")
msg.add_attachment(data, maintype="application", subtype="octet-stream", filename="big.bin")
out = msg.as_bytes()
dt = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("%-7s %d MiB in %.2f s: %.0f MB/s input, %d bytes out, peak RSS %d KiB"
      % ("python", mib, dt, (mib << 20) / dt / 1e6, len(out), rss))
