#!/bin/sh
# MIME serializer benchmark: smtpc vs raw libb64 vs Python's email package,
# each building/encoding a message with one attachment of MiB mebibytes;
# then smtpc building and serializing 10,000 attachments and 10,000 headers.
#   bench/run_mime.sh [BUILD_DIR] [MiB]     (defaults: build, 256)
# Builds bench_mime with the project's optimisation flags if needed.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mib=${2:-256}
root=$(cd "$here/.." && pwd)
case $build in /*) ;; *) build="$root/$build" ;; esac
ninja -C "$build" >/dev/null
bin="$build/bench_mime"
# The library as built there, shared or static (default_library).
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$root/include" "$here/bench_mime.c" \
    -L"$build" -Wl,-rpath,"$build" -lsmtpc -lb64 -lmbedtls -lmbedx509 -lmbedcrypto -o "$bin"
"$bin" smtpc "$mib"
# The same message DKIM-signed (rsa-sha256, 2048-bit key made here): a
# hashing pass over the message, then the serializing pass.
key=$(mktemp)
trap 'rm -f "$key"' EXIT
openssl genrsa -out "$key" 2048 2>/dev/null
"$bin" smtpc-dkim "$mib" "$key"
"$bin" libb64 "$mib"
/usr/bin/python3 "$here/bench_mime_py.py" "$mib"
"$bin" parts 10000
"$bin" headers 10000
