"""A real one-node SLURM cluster for tests: munged, slurmctld and slurmd started from a temporary
folder on free ports, with this host as the only node (its real cores and memory).

``start_cluster(folder)`` returns a ``Cluster`` once ``sinfo`` reports the node idle; ``stop()`` kills
the daemons by the PIDs they wrote (never by name). Needs the Debian packages slurmctld, slurmd,
slurm-client and munge, and root (the daemons run as root here).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol", "squeue")
PARTITION = "debug"


def missing_programs() -> list[str]:
    return [program for program in PROGRAMS if shutil.which(program) is None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 - 512
    raise RuntimeError("MemTotal not found in /proc/meminfo")


@dataclass
class Cluster:
    folder: Path
    conf: Path
    node: str
    pid_files: list[Path] = field(default_factory=list)

    @property
    def environment(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            command, env=self.environment, capture_output=True, text=True, check=check, timeout=60
        )

    def stop(self) -> None:
        for pid_file in self.pid_files:
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
            except (FileNotFoundError, ValueError, ProcessLookupError, IndexError):
                continue


def write_conf(folder: Path, node: str, munge_socket: Path) -> Path:
    lines = [
        "ClusterName=overlapvae-test",
        f"SlurmctldHost={node}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        f"AuthInfo=socket={munge_socket}",
        f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'slurmd.log'}",
        f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "ReturnToService=2",
        "JobAcctGatherType=jobacct_gather/none",
        "MinJobAge=600",
        "KillWait=5",
        "SchedulerParameters=sched_interval=2",  # a released or requeued job starts within seconds
        f"NodeName={node} CPUs={os.cpu_count()} RealMemory={memory_mb()} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP",
    ]
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    conf = folder / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def start_cluster(folder: Path, timeout: float = 60.0) -> Cluster:
    """Start munged, slurmctld and slurmd; wait until the node is idle."""
    node = socket.gethostname().split(".")[0]
    munge_socket = folder / "munge.socket"
    munge_pid = folder / "munged.pid"
    subprocess.run(
        [
            "munged",
            "--force",
            f"--socket={munge_socket}",
            f"--pid-file={munge_pid}",
            f"--log-file={folder / 'munged.log'}",
            f"--seed-file={folder / 'munged.seed'}",
        ],
        check=True,
        capture_output=True,
    )
    conf = write_conf(folder, node, munge_socket)
    cluster = Cluster(folder, conf, node, [munge_pid, folder / "slurmctld.pid", folder / "slurmd.pid"])
    try:
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run(
                [daemon, "-f", str(conf)], env=cluster.environment, check=True, capture_output=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = cluster.run("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.strip()
            if state == "idle":
                return cluster
            time.sleep(0.5)
        raise RuntimeError(
            f"the test cluster's node did not become idle in {timeout:.0f} s (state {state!r})"
        )
    except BaseException:
        cluster.stop()
        raise
