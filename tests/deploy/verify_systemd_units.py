#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the systemd units in deploy/systemd with `systemd-analyze verify`
(exit 77, skipped, where it is missing), and that each unit's
EnvironmentFile has an example beside it defining the variables its
ExecStart uses.

verify warns about unknown keys and bad values but still exits 0, so any
output at all is a failure; and it insists that ExecStart's binary exists,
so the units are checked as copies pointing at stand-ins in a temporary
folder. A copy with a misspelt value must be reported, or the check
proves nothing.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIPPED = 77
BIN = "/usr/local/bin/"


def verify(analyze, units, work):
    """The output of verify on copies of units (path -> text) in work."""
    stand_ins = os.path.join(work, "bin")
    os.makedirs(stand_ins, exist_ok=True)
    paths = []
    for name, text in units.items():
        for binary in re.findall(re.escape(BIN) + r"([\w.-]+)", text):
            stub = os.path.join(stand_ins, binary)
            with open(stub, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(stub, 0o755)
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text.replace(BIN, stand_ins + "/"))
        paths.append(path)
    run = subprocess.run([analyze, "verify", "--man=no", *paths], capture_output=True, text=True, cwd=work)
    return run.returncode, (run.stdout + run.stderr).strip()


def env_file_problems(folder, name, text):
    """The example env file of a unit defines what its ExecStart expands."""
    problems = []
    files = re.findall(r"^EnvironmentFile=-?/etc/switchyard/(\S+)$", text, re.M)
    if len(files) != 1:
        return [f"{name}: expected one EnvironmentFile under /etc/switchyard, got {files}"]
    example = os.path.join(folder, files[0])
    if not os.path.exists(example):
        return [f"{name}: no example {files[0]} beside it"]
    with open(example) as f:
        defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", f.read(), re.M))
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.M)
    used = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", exec_start[1] if exec_start else ""))
    for missing in sorted(used - defined):
        problems.append(f"{name}: ExecStart uses ${missing}, which {files[0]} does not define")
    return problems


def main():
    repo = sys.argv[1]
    folder = os.path.join(repo, "deploy", "systemd")
    units = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.service")) + glob.glob(os.path.join(folder, "*.mount"))):
        with open(path) as f:
            units[os.path.basename(path)] = f.read()
    problems = []
    if not units:
        problems.append(f"no units in {folder}")
    for name, text in units.items():
        problems += env_file_problems(folder, name, text)

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        for p in problems:
            print(p)
        print("systemd-analyze not found: verify skipped")
        return 1 if problems else SKIPPED
    with tempfile.TemporaryDirectory() as work:
        rc, out = verify(analyze, units, os.path.join(work, "good"))
        if rc != 0 or out:
            problems.append(f"systemd-analyze verify (exit {rc}):\n{out}")
        # The same check must notice a broken unit.
        broken = {n: t.replace("Restart=always", "Restart=alwayz") for n, t in units.items()}
        rc, out = verify(analyze, broken, os.path.join(work, "broken"))
        if rc == 0 and "alwayz" not in out:
            problems.append("a unit with Restart=alwayz passed verify: the check is blind")
    for p in problems:
        print(p)
    print(f"{len(units)} units: " + (f"{len(problems)} problem(s)" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
