#!/usr/bin/python3
"""Throwaway certificates for the TLS tests, made with the openssl CLI at
test time (nothing secret or expiring is kept in the repository).

    certs.py DIR     writes into DIR and prints the file names

Files (PEM; EC P-256 keys, so generation takes a fraction of a second):
  ca.pem / ca.key            the test CA (the only trust anchor the tests load)
  server.pem / server.key    valid for localhost, 127.0.0.1 and ::1
  wronghost.pem / .key       valid, but for wrong.example only
  expired.pem / .key         localhost and 127.0.0.1, expired in 2020
  notyet.pem / .key          localhost and 127.0.0.1, valid from 2090
  selfsigned.pem / .key      localhost and 127.0.0.1, signed by itself
  client.pem / client.key    a client certificate issued by the CA
  other.pem / other.key      a second, unrelated key pair for pin mismatches
  <name>.pin                 hex SHA-256 of <name>'s SubjectPublicKeyInfo
"""

import os
import subprocess
import sys

LOCAL_SAN = "DNS:localhost,IP:127.0.0.1,IP:::1"


def _run(args, cwd, stdin=None):
    return subprocess.run(["openssl"] + args, cwd=cwd, input=stdin, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


def _key(d, name):
    _run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", name + ".key"], d)


def _ca_config(d):
    """`openssl ca` is the only CLI path that takes explicit start and end
    dates (for the expired and not-yet-valid certificates)."""
    os.makedirs(os.path.join(d, "ca.db"), exist_ok=True)
    open(os.path.join(d, "ca.db", "index.txt"), "w").close()
    with open(os.path.join(d, "ca.db", "serial"), "w") as f:
        f.write("1000\n")
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write("""[ca]
default_ca = test_ca
[test_ca]
dir = ca.db
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = $ENV::SAN
""")
    return conf


def _issue(d, conf, name, cn, san, ext="server_ext", start=None, end=None):
    _key(d, name)
    _run(["req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn,
          "-out", name + ".csr"], d)
    args = ["ca", "-batch", "-config", conf, "-notext", "-extensions", ext,
            "-in", name + ".csr", "-out", name + ".pem"]
    if start:
        args += ["-startdate", start, "-enddate", end]
    else:
        args += ["-days", "30"]
    env = dict(os.environ, SAN=san)
    subprocess.run(["openssl"] + args, cwd=d, env=env, check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.unlink(os.path.join(d, name + ".csr"))


def _pin(d, name):
    pub = _run(["pkey", "-in", name + ".key", "-pubout", "-outform", "DER"], d)
    digest = _run(["dgst", "-sha256", "-binary"], d, stdin=pub)
    with open(os.path.join(d, name + ".pin"), "w") as f:
        f.write(digest.hex() + "\n")


def make_certs(d):
    """Create every file listed in the module docstring in directory d and
    return a dict name -> absolute path prefix (add .pem / .key / .pin)."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    _key(d, "ca")
    _run(["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=smtpc test CA",
          "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem"], d)
    conf = _ca_config(d)
    _issue(d, conf, "server", "localhost", LOCAL_SAN)
    _issue(d, conf, "wronghost", "wrong.example", "DNS:wrong.example")
    _issue(d, conf, "expired", "localhost", LOCAL_SAN,
           start="20200101000000Z", end="20200201000000Z")
    _issue(d, conf, "notyet", "localhost", LOCAL_SAN,
           start="20900101000000Z", end="20900201000000Z")
    _issue(d, conf, "client", "smtpc test client", "DNS:client.example", ext="client_ext")
    _key(d, "selfsigned")
    _run(["req", "-x509", "-new", "-key", "selfsigned.key", "-subj", "/CN=localhost",
          "-days", "30", "-addext", "subjectAltName=" + LOCAL_SAN,
          "-out", "selfsigned.pem"], d)
    _key(d, "other")
    _run(["req", "-x509", "-new", "-key", "other.key", "-subj", "/CN=other",
          "-days", "30", "-out", "other.pem"], d)
    names = ["ca", "server", "wronghost", "expired", "notyet", "selfsigned", "client",
             "other"]
    for n in names:
        _pin(d, n)
    return {n: os.path.join(d, n) for n in names}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: certs.py DIR")
    for name, prefix in sorted(make_certs(sys.argv[1]).items()):
        print(name, prefix)


if __name__ == "__main__":
    main()
