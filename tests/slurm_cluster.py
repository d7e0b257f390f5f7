"""A real one-node Slurm for the tests: munged, slurmctld and slurmd on 127.0.0.1, all
state in one folder, stopped afterwards.

Debian's `slurm-wlm` and `munge` (.ci/run installs them). The daemons run as root with
their own munge socket and key and ports picked free, so they touch nothing of a Slurm the
machine may already have; commands reach this one through $SLURM_CONF. Without the
packages or without root, `start` says why instead (the tests then skip with that reason).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]  # os.environ with SLURM_CONF pointing at this cluster

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(list(command), env=self.env, capture_output=True, text=True, check=check, timeout=60)

    def queue(self) -> list[str]:
        return [line for line in self.run("squeue", "-h", "-r", "-o", "%i %T %j").stdout.splitlines() if line.strip()]

    @contextmanager
    def active(self) -> Iterator[None]:
        """This cluster for the commands this process runs (launch() calls squeue and sbatch)."""
        before = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = self.env["SLURM_CONF"]
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = before

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "-u", "root"], env=self.env, capture_output=True, timeout=30)
        for name in reversed(DAEMONS):
            pid_file = self.root / f"{name}.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
        time.sleep(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def why_not() -> str | None:
    missing = [d for d in ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd") if not Path(d).exists()]
    if missing or not shutil.which("sbatch"):
        return f"no Slurm here ({', '.join(missing) or 'sbatch'} missing: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting a Slurm needs root (its daemons run as root here)"
    try:
        import submitit  # noqa: F401
    except ImportError:
        return "submitit is not installed (pip install '.[cluster]')"
    return None


def start(root: Path, cpus: int | None = None) -> Cluster | str:
    """Start the cluster under `root`; a sentence saying why not where it cannot start."""
    problem = why_not()
    if problem:
        return problem
    cpus = cpus or os.cpu_count() or 1
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    socket_path = root / "munge.sock"
    subprocess.run(
        [
            "/usr/sbin/munged",
            "--force",
            f"--socket={socket_path}",
            f"--key-file={key}",
            f"--pid-file={root}/munged.pid",
            f"--log-file={root}/log/munged.log",
            f"--seed-file={root}/munge.seed",
        ],
        check=True,
        capture_output=True,
    )
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    conf = root / "slurm.conf"
    conf.write_text(f"""ClusterName=advlabtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket_path}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillWait=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb // 2} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
    env = dict(os.environ, SLURM_CONF=str(conf))
    cluster = Cluster(root, env)
    try:
        subprocess.run(["/usr/sbin/slurmctld", "-f", str(conf)], env=env, check=True, capture_output=True, timeout=60)
        subprocess.run(
            ["/usr/sbin/slurmd", "-f", str(conf), "-N", "localhost"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout.strip()
            if state == "idle":
                return cluster
            time.sleep(0.5)
        raise RuntimeError(f"the node did not come up (sinfo says {state!r})")
    except (subprocess.SubprocessError, RuntimeError, OSError) as e:
        cluster.stop()
        logs = " | ".join(
            (root / "log" / f).read_text()[-300:]
            for f in ("slurmctld.log", "slurmd.log")
            if (root / "log" / f).exists()
        )
        return f"Slurm did not start: {e} {logs}"
