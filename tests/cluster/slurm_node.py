"""A single-node Slurm on 127.0.0.1 for the cluster tests: munged, slurmctld and slurmd from Debian's
`munge` and `slurm-wlm` packages, with every state file under one temporary directory.

Run as a script to try it by hand (as root):  python tests/cluster/slurm_node.py /tmp/slurm-node
It prints the SLURM_CONF to export, runs `srun hostname`, and stops the daemons on Ctrl-C.

No slurmdbd: job status comes from slurmctld, which keeps finished jobs for MinJobAge seconds
(`squeue --states=all`, the executor plugin's `status_command: squeue`), and every finished job is
also appended to a job-completion file (JobCompType=jobcomp/filetxt) the tests read.
Memory requests are enforced without cgroups (which this kind of container lacks): jobacct_gather/linux
samples each job's RSS every second and OverMemoryKill kills a job above its --mem (state OUT_OF_MEMORY).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
PARTITION = "neta"
NODE = "neta-node"
MIN_JOB_AGE = 3600
# Where a configless slurmd caches slurm.conf (removed again by stop() when the node made it).
CONFIGLESS_CACHE = Path("/run/slurm/conf")


def missing_programs() -> list[str]:
    """The programs the node needs that are not installed (Debian: apt-get install slurm-wlm munge)."""
    programs = ["munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "scancel", "scontrol"]
    return [name for name in programs if shutil.which(name) is None and not Path("/usr/sbin", name).exists()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _machine_memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmNode:
    """slurmctld + slurmd on 127.0.0.1 (one node, one partition), and munged when none is running."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.conf = self.root / "slurm.conf"
        self.jobcomp = self.root / "jobcomp.txt"
        self.processes: dict[str, subprocess.Popen] = {}
        self.cpus = os.cpu_count() or 1
        self.port = _free_port()
        # Leave the machine 1 GB (and the test's own snakemake) outside the node.
        self.memory_mb = max(1024, _machine_memory_mb() - 1024)

    @property
    def env(self) -> dict[str, str]:
        """What a Slurm client (sbatch, squeue, the executor plugin) needs to find this node."""
        return {"SLURM_CONF": str(self.conf)}

    def write_conf(self) -> None:
        state = self.root / "state"
        spool = self.root / "spool"
        for folder in (state, spool, self.root / "log"):
            folder.mkdir(parents=True, exist_ok=True)
        host = socket.gethostname()
        lines = [
            "ClusterName=neta",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={self.port}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"StateSaveLocation={state}",
            f"SlurmdSpoolDir={spool}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
            # slurmd fetches this file from slurmctld and caches it in /run/slurm/conf, where Slurm
            # commands find it when SLURM_CONF is unset: the jobstep plugin removes SLURM_* variables
            # before calling srun inside a job
            "SlurmctldParameters=enable_configless",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            # cgroups are not usable in this kind of container: track processes through /proc
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            # memory is a consumable resource, and a job above its --mem is killed (OUT_OF_MEMORY)
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=task=1",
            "JobAcctGatherParams=OverMemoryKill",
            # no slurmdbd: finished jobs stay visible to squeue/scontrol for MinJobAge seconds
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={self.jobcomp}",
            f"MinJobAge={MIN_JOB_AGE}",
            "MaxJobCount=100000",
            "ReturnToService=2",
            "DefMemPerCPU=1000",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1,bf_interval=5",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "KillWait=5",
            "InactiveLimit=0",
            "SlurmdTimeout=60",
            f"NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={self.cpus}"
            f" RealMemory={self.memory_mb} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n", encoding="ascii")

    def _munge_works(self) -> bool:
        try:
            token = subprocess.run(["munge", "-n"], capture_output=True, timeout=10, check=True).stdout
            subprocess.run(["unmunge"], input=token, capture_output=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return False
        return True

    def _start_munge(self) -> None:
        if self._munge_works():
            return
        user = pwd.getpwnam("munge")
        for folder in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
            os.makedirs(folder, exist_ok=True)
            os.chown(folder, user.pw_uid, user.pw_gid)
        os.chmod("/run/munge", 0o755)
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create"], check=True)
            os.chown(key, user.pw_uid, user.pw_gid)
        self.processes["munged"] = subprocess.Popen(
            ["runuser", "-u", "munge", "--", _program("munged"), "--foreground"],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "log" / "munged.log", "wb"),  # noqa: SIM115
        )
        self._wait(self._munge_works, "munged")

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}); see {self.root / 'log'}")
            time.sleep(0.5)
        raise RuntimeError(f"{what} not ready after {timeout:.0f} s; see {self.root / 'log'}")

    def _node_idle(self) -> bool:
        proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], env={**os.environ, **self.env},
                              capture_output=True, text=True)
        return proc.returncode == 0 and proc.stdout.strip() in ("idle", "mix", "alloc")

    def start(self) -> SlurmNode:
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_conf()
        self.made_cache = not CONFIGLESS_CACHE.exists()  # absent, or a link left by a killed node
        self._start_munge()
        env = {**os.environ, **self.env}
        logs = self.root / "log"
        # -D: stay in the foreground (a child of this process, stopped by stop()); -i: ignore old state
        self.processes["slurmctld"] = subprocess.Popen(
            [_program("slurmctld"), "-D", "-i", "-f", str(self.conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=open(logs / "slurmctld.stderr", "wb"),  # noqa: SIM115
        )
        self.processes["slurmd"] = subprocess.Popen(
            [_program("slurmd"), "-D", "-N", NODE, "--conf-server", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=open(logs / "slurmd.stderr", "wb"),  # noqa: SIM115
        )
        self._wait(self._node_idle, "the Slurm node")
        return self

    def stop(self) -> None:
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.processes.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if getattr(self, "made_cache", False):  # a link into this node's spool directory
            if CONFIGLESS_CACHE.is_symlink():
                CONFIGLESS_CACHE.unlink()
            else:
                shutil.rmtree(CONFIGLESS_CACHE, ignore_errors=True)

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """A Slurm client command against this node (srun, squeue, scancel, ...)."""
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=check, timeout=timeout)

    def finished_jobs(self) -> list[dict[str, str]]:
        """Every finished job as slurmctld's job-completion log records it (JobId, Name, JobState, ExitCode, ...)."""
        if not self.jobcomp.exists():
            return []
        jobs = []
        for line in self.jobcomp.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            if fields:
                jobs.append(fields)
        return jobs

    def __enter__(self) -> SlurmNode:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    node = SlurmNode(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/neta-slurm-node"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with node:
        print(f"export SLURM_CONF={node.conf}", flush=True)
        print(node.run("srun", "hostname").stdout.strip())
        try:
            signal.pause()
        except (KeyboardInterrupt, SystemExit):
            pass
