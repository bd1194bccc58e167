#!/usr/bin/python3
"""The developer scripts keep their promises (review finding #19).

- .ci/install-deps (used by ./run-demo, ./run-tests and CI) waits for an apt
  lock held by another process instead of failing at once. apt-get is
  replaced by a stand-in that reports the lists lock as taken on its first
  `update`, as apt 2.6 does, and records every call.
- ./run-tests builds with warnings as errors even in a build directory that
  a plain `meson setup` made earlier: .ci/setup-build, which run-tests uses,
  must turn werror on there.

Usage: check_scripts.py SOURCE-ROOT
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.getcwd()

FAKE_APT = """#!/bin/sh
# Stand-in apt-get: the first `update` finds the lists lock held.
echo "$*" >> "$FAKE_LOG"
case " $* " in
  *" update "*)
    if [ ! -e "$FAKE_STATE" ]; then
      touch "$FAKE_STATE"
      echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1 (apt-get)" >&2
      exit 100
    fi;;
esac
exit 0
"""


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


class InstallDepsWaitsForLock(unittest.TestCase):
    def test_lock_held_then_released(self):
        with tempfile.TemporaryDirectory() as tmp:
            bindir = os.path.join(tmp, "bin")
            os.mkdir(bindir)
            write_exe(os.path.join(bindir, "apt-get"), FAKE_APT)
            write_exe(os.path.join(bindir, "debconf-set-selections"), "#!/bin/sh\ncat >/dev/null\n")
            write_exe(os.path.join(bindir, "postfix"), "#!/bin/sh\nexit 0\n")
            write_exe(os.path.join(bindir, "sudo"), '#!/bin/sh\nexec "$@"\n')
            log = os.path.join(tmp, "apt.log")
            env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"],
                       FAKE_LOG=log, FAKE_STATE=os.path.join(tmp, "locked-once"),
                       SMTPC_APT_LOCK_TIMEOUT="120")
            r = subprocess.run([os.path.join(ROOT, ".ci", "install-deps")], env=env,
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(log) as f:
                calls = f.read().splitlines()
            updates = [c for c in calls if " update" in f" {c}"]
            installs = [c for c in calls if " install " in f" {c} "]
            self.assertEqual(len(updates), 2, calls)  # retried after the lock
            self.assertEqual(len(installs), 1, calls)
            self.assertIn("DPkg::Lock::Timeout=120", installs[0])

    def test_other_update_failure_is_not_retried(self):
        with tempfile.TemporaryDirectory() as tmp:
            bindir = os.path.join(tmp, "bin")
            os.mkdir(bindir)
            write_exe(os.path.join(bindir, "apt-get"),
                      '#!/bin/sh\necho "$*" >> "$FAKE_LOG"\necho "E: network down" >&2\nexit 100\n')
            write_exe(os.path.join(bindir, "debconf-set-selections"), "#!/bin/sh\ncat >/dev/null\n")
            write_exe(os.path.join(bindir, "sudo"), '#!/bin/sh\nexec "$@"\n')
            log = os.path.join(tmp, "apt.log")
            env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"], FAKE_LOG=log)
            r = subprocess.run([os.path.join(ROOT, ".ci", "install-deps")], env=env,
                               capture_output=True, text=True, timeout=300)
            self.assertNotEqual(r.returncode, 0)
            with open(log) as f:
                self.assertEqual(len(f.read().splitlines()), 1)


class RunTestsTurnsWerrorOn(unittest.TestCase):
    def werror(self, builddir):
        out = subprocess.run(["meson", "introspect", "--buildoptions", builddir],
                             check=True, capture_output=True, text=True).stdout
        return next(o["value"] for o in json.loads(out) if o["name"] == "werror")

    def test_existing_plain_build_dir(self):
        with tempfile.TemporaryDirectory() as tmp:
            builddir = os.path.join(tmp, "plain")
            subprocess.run(["meson", "setup", builddir, "-Dtests=disabled", "-Dexamples=disabled"],
                           cwd=ROOT, check=True, capture_output=True)
            self.assertFalse(self.werror(builddir))
            subprocess.run([os.path.join(ROOT, ".ci", "setup-build"), builddir],
                           check=True, capture_output=True)
            self.assertTrue(self.werror(builddir))

    def test_run_tests_uses_setup_build(self):
        with open(os.path.join(ROOT, "run-tests")) as f:
            self.assertIn(".ci/setup-build", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
