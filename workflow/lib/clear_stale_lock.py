"""Clear the lock a killed snakemake left behind, but never one a running snakemake holds.

`make run` calls this first. Snakemake locks the working directory while it runs; a run killed
hard (SIGKILL, a lost terminal) leaves the lock, and every later run stops with "Directory cannot be
locked" until `snakemake --unlock`. Unlocking is safe only when no snakemake process works in this
directory, which is what this checks (by each process's command line and working directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil


def snakemake_processes(directory: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "cwd"]):
        info = process.info
        if info["pid"] == os.getpid() or not info["cmdline"] or not info["cwd"]:
            continue
        if any(Path(part).name == "snakemake" or part == "snakemake" for part in info["cmdline"][:3]) and \
                Path(info["cwd"]).resolve() == directory:
            found.append(process)
    return found


def main() -> int:
    directory = Path.cwd().resolve()
    locks = directory / ".snakemake" / "locks"
    if not locks.is_dir() or not any(locks.iterdir()):
        return 0
    running = snakemake_processes(directory)
    if running:
        pids = ", ".join(str(process.pid) for process in running)
        print(f"snakemake is running in {directory} (pid {pids}): its lock stays", file=sys.stderr)
        return 0
    print(f"clearing a stale snakemake lock in {directory} (no snakemake process is working here)",
          file=sys.stderr)
    return subprocess.run([sys.executable, "-m", "snakemake", "--unlock", "--quiet"], cwd=directory).returncode


if __name__ == "__main__":
    raise SystemExit(main())
