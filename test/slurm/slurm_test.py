#!/usr/bin/env python3
"""A sweep on a real Slurm cluster: a private single-node cluster started in
a temporary directory (munged with a key of its own; slurmctld and slurmd
with a generated slurm.conf: proctrack/linuxproc, task/none, ports free at
run time, state and spool in the directory), then

  1. the job array of the packaged script (lbsim-sweep.sbatch), one task
     per shard, each keeping its runs with --resume; merged, the shards
     are the unsharded sweep's table, byte for byte;
  2. a longer sweep whose task 1 is cancelled (scancel) mid-run: the merge
     then names the runs it lacks; the task is submitted again alone, goes
     on from its file, and the merge is the unsharded sweep's again.

Everything it started is stopped, jobs first (scancel), then the daemons
and any process left that runs from the directory, by PID; the directory
is removed, on success and on failure. Without the tools, without root, or
where no cgroup filesystem is mounted (a minimal chroot), it says why and
exits 77 (skipped), or fails when LBSIM_REQUIRE_SLURM=1.

Usage: slurm_test.py LBSIM_BINARY SBATCH_SCRIPT"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOOLS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"]
PREFIX = "lbsim-slurm-%d-" % os.getpid()
DEADLINE = time.monotonic() + 110  # under ctest's timeout: cleanup always runs

# Phase 1: 16 quick runs in 3 shards.
QUICK = ("-n 3 --rounds 12 --sleep 0.2 --latency 5:60 --drift-period 0.5 --drift-step 20 --latency-floor 1"
         " --seed 7 --sweep alpha=0.1,0.5 --sweep burst=5,10 --compare ema-greedy,round-robin,p2c-peak-ewma"
         " --seeds 2 -q")
# Phase 2: 20 runs of about RUN_WALL_S each (their --duration is measured
# on this build: a sanitizer build is many times slower), in 2 shards.
LONG_RUNS = 20
LONG = ("-n 20 --duration %d --rate 2000 --latency 5:60 --seed 3 --sweep alpha=0.1:0.9:0.1"
        " --compare ema-greedy,p2c-peak-ewma --seeds 2 -q")
RUN_WALL_S = 0.25


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def say(what):
    print("slurm: %s" % what, flush=True)


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_for(cond, what, bound=30):
    deadline = min(time.monotonic() + bound, DEADLINE)
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise Failure("timed out waiting for %s" % what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cgroup_mounted():
    """A cgroup filesystem mounted where this process sees it: in a chroot,
    /proc/mounts still lists the host's, at paths that are not there."""
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[2] in ("cgroup", "cgroup2") and os.path.ismount(fields[1]):
                return True
    return False


def processes_of(directory):
    """PIDs of the processes that run from directory: its path in their
    command line or environment (slurmstepd inherits SLURM_CONF)."""
    mine = []
    needle = directory.encode()
    for proc in glob.glob("/proc/[0-9]*"):
        pid = int(proc[6:])
        if pid == os.getpid():
            continue
        try:
            with open(proc + "/cmdline", "rb") as f:
                cmdline = f.read()
            with open(proc + "/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if needle in cmdline or needle in environ:
            mine.append(pid)
    return mine


def kill_all(pids, grace=5):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if os.path.exists("/proc/%d" % p) and not zombie(p)]
        time.sleep(0.05)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def remove_leftovers():
    """Directories of runs killed outright (no cleanup ran): their processes
    stopped, the directories removed, if the run that made them is gone."""
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "lbsim-slurm-*-*")):
        m = re.match(r"lbsim-slurm-(\d+)-", os.path.basename(d))
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            kill_all(processes_of(d))
            shutil.rmtree(d, ignore_errors=True)
            say("removed %s, left behind by an earlier run" % d)


class Cluster:
    def __init__(self, lbsim, script):
        self.lbsim = lbsim
        self.script = script
        self.dir = None
        self.daemons = []  # Popen, in starting order
        self.env = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix=PREFIX)
        # munged serves clients through its socket's directory: a 0700 parent locks them out.
        os.chmod(self.dir, 0o755)
        for sub in ("munge", "state", "spool", "log", "parts1", "parts2"):
            os.mkdir(os.path.join(self.dir, sub), 0o755)
        key = os.path.join(self.dir, "munge", "key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.munge_socket = os.path.join(self.dir, "munge", "socket")
        self.spawn("munged", ["munged", "-F", "--key-file=" + key, "--socket=" + self.munge_socket,
                              "--pid-file=" + os.path.join(self.dir, "munge", "pid"),
                              "--seed-file=" + os.path.join(self.dir, "munge", "seed"),
                              "--log-file=" + os.path.join(self.dir, "log", "munged.log")])
        wait_for(lambda: os.path.exists(self.munge_socket), "munged's socket", 10)
        conf = self.write_conf()
        self.env = dict(os.environ, SLURM_CONF=conf)
        self.spawn("slurmctld", ["slurmctld", "-D", "-f", conf])
        self.spawn("slurmd", ["slurmd", "-D", "-f", conf, "-N", self.node])
        wait_for(lambda: self.slurm(["sinfo", "-h", "-n", self.node, "-o", "%T"], check_ok=False).strip() == "idle",
                 "the node to be idle", 40)
        say("cluster up in %s (slurmctld on port %d, slurmd on port %d)" % (self.dir, self.ports[0], self.ports[1]))

    def write_conf(self):
        self.node = socket.gethostname().split(".")[0]
        self.ports = (free_port(), free_port())
        d = self.dir
        user = "root"
        plugstack = os.path.join(d, "plugstack.conf")
        open(plugstack, "w").close()
        conf = os.path.join(d, "slurm.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "ClusterName=lbsimtest",
                "SlurmctldHost=%s(127.0.0.1)" % self.node,
                "SlurmctldPort=%d" % self.ports[0],
                "SlurmdPort=%d" % self.ports[1],
                "SlurmUser=%s" % user,
                "SlurmdUser=%s" % user,
                "AuthType=auth/munge",
                "AuthInfo=socket=%s" % self.munge_socket,
                "CredType=cred/munge",
                "StateSaveLocation=%s/state" % d,
                "SlurmdSpoolDir=%s/spool" % d,
                "SlurmctldPidFile=%s/slurmctld.pid" % d,
                "SlurmdPidFile=%s/slurmd.pid" % d,
                "SlurmctldLogFile=%s/log/slurmctld.log" % d,
                "SlurmdLogFile=%s/log/slurmd.log" % d,
                "PlugStackConfig=%s" % plugstack,
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/none",
                "MpiDefault=none",
                "SwitchType=switch/none",
                "SchedulerType=sched/builtin",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "KillWait=5",
                "NodeName=%s NodeAddr=127.0.0.1 CPUs=%d State=UNKNOWN" % (self.node, os.cpu_count() or 1),
                "PartitionName=lbsim Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                ""]))
        return conf

    def spawn(self, name, argv):
        log = open(os.path.join(self.dir, "log", name + ".out"), "wb")
        env = dict(os.environ, SLURM_CONF=os.path.join(self.dir, "slurm.conf"))
        self.daemons.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                             stdin=subprocess.DEVNULL))
        log.close()

    def slurm(self, argv, check_ok=True):
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)
        if check_ok and p.returncode != 0:
            raise Failure("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
        return p.stdout

    def submit(self, array, sweep, shards, parts):
        # The sweep's options hold commas: they travel in the environment, as the script's comment shows.
        env = dict(self.env, LBSIM=self.lbsim, LBSIM_SWEEP=sweep)
        p = subprocess.run(["sbatch", "--parsable", "--array=%s" % array, "--chdir=%s" % parts,
                            "--output=%s/task.%%a.log" % parts, "--export=ALL,SHARDS=%d" % shards, self.script],
                           env=env, capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "sbatch: exit %d: %s" % (p.returncode, p.stderr.strip()))
        out = p.stdout
        job = out.strip().split(";")[0]
        check(job.isdigit(), "sbatch printed %r" % out)
        say("submitted job %s, array %s" % (job, array))
        return job

    def queued(self, job):
        return self.slurm(["squeue", "-h", "-j", job, "-o", "%i %T"], check_ok=False)

    def wait_done(self, job, bound=60):
        wait_for(lambda: self.queued(job).strip() == "", "job %s to end" % job, bound)

    def stop(self):
        if self.env:
            jobs = self.slurm(["squeue", "-h", "-o", "%i"], check_ok=False).split()
            if jobs:
                subprocess.run(["scancel"] + jobs, env=self.env, capture_output=True, timeout=30)
            try:
                wait_for(lambda: self.slurm(["squeue", "-h"], check_ok=False).strip() == "", "the jobs to go", 15)
            except Failure as e:
                say("warning: %s" % e)
        for p in reversed(self.daemons):
            kill_all([p.pid])
            p.wait()
        if self.dir:
            kill_all(processes_of(self.dir))  # a job step the daemons left behind
            shutil.rmtree(self.dir, ignore_errors=True)


def lbsim_out(lbsim, args):
    p = subprocess.run([lbsim] + args.split(), capture_output=True, timeout=max(1, DEADLINE - time.monotonic()))
    check(p.returncode == 0, "lbsim %s: %s" % (args, p.stderr.decode()))
    return p.stdout


def run_duration(lbsim):
    """The --duration of LONG's runs that takes about RUN_WALL_S of wall time here."""
    t0 = time.monotonic()
    lbsim_out(lbsim, "-n 20 --duration 50 --rate 2000 --latency 5:60 --seed 3 --clock virtual -q")
    per_simulated_s = max(time.monotonic() - t0, 1e-3) / 50
    duration = int(min(max(RUN_WALL_S / per_simulated_s, 5), 2000))
    say("runs of --duration %d (%.2f ms of wall time per simulated second)" % (duration, 1000 * per_simulated_s))
    return duration


def merge(lbsim, parts):
    files = sorted(glob.glob(os.path.join(parts, "part.*")))
    return subprocess.run([lbsim, "merge"] + files, capture_output=True, timeout=60)


def dump_logs(cluster):
    if cluster.dir is None:
        return
    for path in sorted(glob.glob(os.path.join(cluster.dir, "log", "*")) +
                       glob.glob(os.path.join(cluster.dir, "parts*", "task.*.log"))):
        with open(path, errors="replace") as f:
            text = f.read()
        say("--- %s (last lines)\n%s" % (path, "\n".join(text.splitlines()[-15:])))


def phases(lbsim, cluster):
    # 1. The job array, merged: the unsharded sweep's bytes.
    parts = os.path.join(cluster.dir, "parts1")
    whole = lbsim_out(lbsim, QUICK)
    job = cluster.submit("0-2", QUICK, 3, parts)
    cluster.wait_done(job)
    m = merge(lbsim, parts)
    check(m.returncode == 0, "merge: %s" % m.stderr.decode())
    check(m.stdout == whole, "the merged job array differs from the unsharded sweep")
    say("job array of 3 shards merged to the unsharded sweep's %d bytes" % len(whole))

    # 2. A task cancelled mid-run, submitted again alone.
    parts = os.path.join(cluster.dir, "parts2")
    sweep = LONG % run_duration(lbsim)
    whole = lbsim_out(lbsim, sweep)
    runs_of_1 = 1 + LONG_RUNS // 2  # the lines of shard 1/2: its start line and its runs
    job = cluster.submit("0-1", sweep, 2, parts)
    part1 = os.path.join(parts, "part.1")
    lines = lambda: open(part1, "rb").read().count(b"\n") if os.path.exists(part1) else 0  # noqa: E731
    wait_for(lambda: lines() >= 3, "task 1 to write two runs", 60)
    check("RUNNING" in cluster.queued("%s_1" % job), "task 1 ended before it could be cancelled")
    cluster.slurm(["scancel", "%s_1" % job])
    cluster.wait_done(job)
    kept = lines()
    check(3 <= kept < runs_of_1, "task 1 kept %d of %d lines: not cancelled mid-run" % (kept, runs_of_1))
    m = merge(lbsim, parts)
    check(m.returncode == 2 and b"runs missing: shard 1/2 should have had" in m.stderr, m.stderr.decode())
    say("task 1 cancelled with %d of %d lines kept; the merge names what it lacks" % (kept, runs_of_1))
    job = cluster.submit("1", sweep, 2, parts)
    cluster.wait_done(job)
    log = open(os.path.join(parts, "task.1.log")).read()
    check(re.search(r"^resuming \./part\.1: %d of %d runs done" % (kept - 1, runs_of_1 - 1), log, re.M), log)
    m = merge(lbsim, parts)
    check(m.returncode == 0, "merge: %s" % m.stderr.decode())
    check(m.stdout == whole, "the merge after the resubmitted task differs from the unsharded sweep")
    say("the resubmitted task went on from its file; merged, the unsharded sweep's %d bytes" % len(whole))


def main():
    lbsim, script = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    cluster = Cluster(lbsim, script)

    def interrupted(signum, frame):
        raise Failure("interrupted by signal %d" % signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if missing:
            raise Skip("not installed: %s (Debian: slurm-wlm, munge)" % " ".join(missing))
        if os.geteuid() != 0:
            raise Skip("needs root: slurmd starts each job as its user")
        if not cgroup_mounted():
            raise Skip("no cgroup filesystem is mounted (as in a minimal chroot): slurmd cannot run")
        remove_leftovers()
        cluster.start()
        phases(lbsim, cluster)
        say("ok")
        return 0
    except Skip as e:
        if os.environ.get("LBSIM_REQUIRE_SLURM") == "1":
            say("FAIL: cannot run: %s (LBSIM_REQUIRE_SLURM=1)" % e)
            return 1
        say("SKIPPED: %s" % e)
        return 77
    except (Failure, subprocess.SubprocessError, OSError) as e:
        say("FAIL: %s" % e)
        dump_logs(cluster)
        return 1
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
