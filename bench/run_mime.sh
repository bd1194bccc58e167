#!/bin/sh
# MIME serializer benchmark: smtpc vs raw libb64 vs Python's email package,
# each building/encoding a message with one attachment of MiB mebibytes;
# then smtpc building and serializing 10,000 attachments and 10,000 headers.
#   bench/run_mime.sh [BUILD_DIR] [MiB] [REPEATS]   (defaults: build, 256, 5)
# smtpc and libb64 run in turn REPEATS times; a summary line gives their
# median CPU times and the throughput ratio (libb64's CPU / smtpc's).
# Builds bench_mime with the project's optimisation flags if needed.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mib=${2:-256}
repeats=${3:-5}
root=$(cd "$here/.." && pwd)
case $build in /*) ;; *) build="$root/$build" ;; esac
ninja -C "$build" >/dev/null
bin="$build/bench_mime"
# The library as built there, shared or static (default_library).
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$root/include" "$here/bench_mime.c" \
    -L"$build" -Wl,-rpath,"$build" -lsmtpc -lb64 -lmbedtls -lmbedx509 -lmbedcrypto -o "$bin"
runs=$(mktemp)
key=$(mktemp)
trap 'rm -f "$runs" "$key"' EXIT
for _ in $(seq "$repeats"); do
    "$bin" smtpc "$mib" | tee -a "$runs"
    "$bin" libb64 "$mib" | tee -a "$runs"
done
/usr/bin/python3 - "$runs" <<'EOF'
import statistics, sys
cpu = {"smtpc": [], "libb64": []}
for line in open(sys.argv[1]):
    f = line.split()
    cpu[f[0]].append(float(f[-2]))
s, b = statistics.median(cpu["smtpc"]), statistics.median(cpu["libb64"])
print(f"median CPU: smtpc {s:.3f} s (range {min(cpu['smtpc']):.3f}-{max(cpu['smtpc']):.3f}), "
      f"libb64 {b:.3f} s (range {min(cpu['libb64']):.3f}-{max(cpu['libb64']):.3f}); "
      f"smtpc throughput {b / s:.2f}x libb64's")
EOF
# The same message DKIM-signed (rsa-sha256, 2048-bit key made here): a
# hashing pass over the message, then the serializing pass.
openssl genrsa -out "$key" 2048 2>/dev/null
"$bin" smtpc-dkim "$mib" "$key"
/usr/bin/python3 "$here/bench_mime_py.py" "$mib"
"$bin" parts 10000
"$bin" headers 10000
