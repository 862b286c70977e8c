# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the watchdog's healing beside supervisord's autorestart of the same command.

For each supervisor, with 50 agents running ``sleep``:
- single kills: kill -9 one agent's process, time until a new process of it runs
  (median and worst over --trials kills);
- mass kill: kill -9 all 50 at once, time until all 50 run again, as /proc shows them (new
  processes named sleep under the tmux server, children of their keepers, or of supervisord:
  nothing polls the server being timed); the median of --mass kills, the first 2 s after the
  last single kill (beyond RESTART_SPACING); for information, tmux's own floor for the same
  (``tmux_floor``: the deaths read, then the sessions started again exec'ing ``sleep``
  directly, no engine), and, when tmux links libutempter, what its utmp helper alone costs
  (``utmp_helper``: tmux runs it, and waits for it, for every pane it opens or closes);
- idle cost: CPU time of the supervisor (with its children) over --idle seconds, as a
  percentage of one core (its own time from /proc/PID/schedstat, in ns; its reaped children's
  from /proc/PID/stat, in clock ticks); the watchdog's guard's on a line of its own;
- the same idle cost of the watchdog when it also classifies all 50 agents by the claude
  profile (each pane shows a real claude idle screen, tests/agentcli/screens/claude-idle.txt,
  then sleeps: the watchdog captures and classifies what changed, publishes every state).
Goals (watchdog): median <= 0.3 s, worst <= 1 s, idle <= 2x supervisord's, and <= 2x
supervisord's with 50 classified agents (same run); the mass kill healed faster than
supervisord heals it in the same run (the watchdog starts all the agents to restart in one
batch of tmux calls).

Everything runs in a temp dir on a private tmux server and is removed at the end.
Usage: .venv/bin/python bench/heal.py [--trials 20] [--idle 20] [--agents 50] [--mass 5]
"""

import os
import pty
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from report import result, spread

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")


def arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def cpu_seconds(pid):
    """utime+stime of a process (its threads' run time, ns) and of its reaped children (ticks)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    own = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as handle:
                own += int(handle.read().split()[0])
        except OSError:  # a thread that ended meanwhile
            continue
    return own / 1e9 + sum(int(f) for f in fields[13:15]) / TICK


def children(ppid, comm):
    """The pids of ``ppid``'s children named ``comm``."""
    return below(ppid, comm, 1)


def below(root, comm, depth=2):
    """The pids named ``comm`` among ``root``'s children and (``depth`` 2) grandchildren, from
    one read of /proc (no process started: what the mass kill polls for both supervisors, so
    neither pays for being watched): an agent healed in its pane is the child of its keeper,
    itself a child of the tmux server; supervisord's programs are its children."""
    parents, names = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        head, _sep, tail = stat.rpartition(")")
        parents[int(entry)], names[int(entry)] = int(tail.split()[1]), head[head.index("(") + 1:]
    level, out = {root}, []
    for _step in range(depth):
        level = {pid for pid, parent in parents.items() if parent in level}
        out += [pid for pid in level if names[pid] == comm]
    return out


def pane_agent(pid):
    """The agent of a pane whose process is ``pid``: that process, or the child of its keeper."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv0 = handle.read().split(b"\0", 1)[0]
        if os.path.basename(argv0) != b"agentloops-keeper":
            return pid
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            kids = handle.read().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def tmux_server_pid(socket):
    """The pid of the tmux server on ``socket``: every pane's process is its child."""
    proc = subprocess.run(["tmux", "-S", socket, "display-message", "-p", "#{pid}"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def wait_until(predicate, timeout=30.0, step=0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    raise SystemExit("timed out waiting")


class TmuxAgents:
    """Our watchdog: agents in tmux sessions, healed by agents.py watchdog."""

    name = "agentloops watchdog"

    backend = "demo"

    def __init__(self, tmp, count):
        self.dir = os.path.join(tmp, "project")
        os.makedirs(self.dir)
        self.socket = os.path.join(tmp, "bench.sock")
        lines = ['[project]\nsession_prefix = "h-"\ntmux_socket = "%s"\n' % self.socket, self.backends()]
        for i in range(count):
            lines.append('[agents.a%02d]\nkind = "persistent"\nbackend = "%s"\nwatch = "heal"\n'
                         'start_seconds = 0\n' % (i, self.backend))
        lines.append('[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n')
        with open(os.path.join(self.dir, "agents.toml"), "w") as handle:
            handle.write("\n".join(lines))
        self.names = ["a%02d" % i for i in range(count)]
        subprocess.run([PY, os.path.join(REPO, "agents.py"), "up"], cwd=self.dir, check=True, capture_output=True)
        wait_until(lambda: len(self.pids()) == count)
        wait_until(lambda: self.supervisor_pid() is not None)

    def pids(self):
        proc = subprocess.run(["tmux", "-S", self.socket, "list-panes", "-a", "-F",
                               "#{session_name} #{pane_pid} #{pane_current_command}"],
                              capture_output=True, text=True, check=False)
        out = {}
        for line in proc.stdout.splitlines():
            name, pid, cmd = line.split()
            agent = pane_agent(int(pid)) if name.startswith("h-a") and cmd == "sleep" else None
            if agent is not None:
                out[name[2:]] = agent
        return out

    def server_pid(self):
        return tmux_server_pid(self.socket)

    def supervisor_pid(self):
        proc = subprocess.run(["tmux", "-S", self.socket, "list-panes", "-t", "=h-watchdog", "-F", "#{pane_pid}"],
                              capture_output=True, text=True, check=False)
        return int(proc.stdout.split()[0]) if proc.returncode == 0 and proc.stdout.strip() else None

    def guard_pid(self):
        """The watchdog's guard (the pid in its lock), once it runs."""
        try:
            with open(os.path.join(self.dir, "state", "watchdog-guard.lock")) as handle:
                text = handle.read().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() and os.path.exists("/proc/%s" % text) else None

    def backends(self):
        return ""

    def close(self):
        subprocess.run([PY, os.path.join(REPO, "agents.py"), "down"], cwd=self.dir, capture_output=True, check=False)
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, check=False)


class ClassifiedAgents(TmuxAgents):
    """The watchdog with every agent classified by the claude profile (idle cost only)."""

    name = "watchdog, classified"
    backend = "idleclaude"
    SCREEN = os.path.join(REPO, "tests", "agentcli", "screens", "claude-idle.txt")

    def backends(self):
        return ('[backends.idleclaude]\nbin = "cat %s; exec sleep 1000000"\nprofile = "claude"\n'
                'prompt_delivery = "exec"\n' % self.SCREEN)

    def states(self):
        proc = subprocess.run(["tmux", "-S", self.socket, "list-sessions", "-F", "#{@agentloops_state}"],
                              capture_output=True, text=True, check=False)
        return [line.split(" ")[0] for line in proc.stdout.splitlines() if line.strip()]


class Supervisord:
    """supervisord with autorestart of the same command, for comparison."""

    name = "supervisord"

    def __init__(self, tmp, count):
        self.dir = os.path.join(tmp, "supervisor")
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "supervisord.conf")
        with open(conf, "w") as handle:
            handle.write("[supervisord]\nnodaemon=true\nlogfile=%s/sd.log\npidfile=%s/sd.pid\n"
                         "[unix_http_server]\nfile=%s/sd.sock\n" % (self.dir, self.dir, self.dir))
            for i in range(count):
                handle.write("[program:a%02d]\ncommand=sleep 1000000\nautorestart=true\nstartsecs=0\n"
                             "stdout_logfile=NONE\nstderr_logfile=NONE\n" % i)
        binary = shutil.which("supervisord", path=os.path.dirname(PY))
        if binary is None:
            raise FileNotFoundError("supervisord")
        self.proc = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.count = count
        wait_until(lambda: len(self.pids()) == count)

    def pids(self):
        return dict(("a%02d" % i, pid) for i, pid in enumerate(sorted(children(self.proc.pid, "sleep"))))

    def server_pid(self):
        return self.proc.pid

    def supervisor_pid(self):
        return self.proc.pid

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def single_kills(sup, trials):
    samples = []
    for i in range(trials):
        before = sup.pids()
        victim = sup.names[i % len(sup.names)] if hasattr(sup, "names") else sorted(before)[i % len(before)]
        old = before[victim]
        others = set(before.values()) - {old}
        start = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        if isinstance(sup, Supervisord):
            wait_until(lambda: len(set(sup.pids().values()) - others - {old}) == 1)
        else:
            wait_until(lambda: sup.pids().get(victim) not in (None, old))
        samples.append(time.perf_counter() - start)
        time.sleep(0.3)
    return samples


def mass_kill(sup, count):
    """kill -9 every agent at once; the time until ``count`` new ones run, as /proc shows
    them (processes named sleep under the tmux server, or under supervisord: see ``below``)."""
    wait_until(lambda: len(sup.pids()) == count, timeout=60)
    server = sup.server_pid()
    old = set(below(server, "sleep"))
    if len(old) != count:
        raise SystemExit("%s: %d processes named sleep under pid %d, not %d" % (sup.name, len(old), server, count))
    start = time.perf_counter()
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(set(below(server, "sleep")) - old) >= count, timeout=60)
    return time.perf_counter() - start


def tmux_floor(tmp, count, repeats):
    """What any healer in tmux pays for a mass kill, without the engine: on a private server,
    kill -9 the ``count`` panes' processes (sessions running ``sleep`` directly), read the
    server (one ``list-panes`` at a time) until none of their sessions is left, then start them
    again in one tmux call, each session exec'ing ``sleep`` directly (no shell, no ``env -i``),
    until /proc shows all ``count`` new ones. The median of ``repeats`` kills, in seconds."""
    socket = os.path.join(tmp, "floor.sock")
    tmux = ["tmux", "-S", socket]
    names = ["f%02d" % i for i in range(count)]

    def start_all():
        argv = list(tmux)
        for name in names:
            argv += ["new-session", "-d", "-s", name, "sleep", "1000000", ";"]
        subprocess.run(argv[:-1], check=True, capture_output=True)

    def listed():
        out = subprocess.run(tmux + ["list-sessions", "-F", "#{session_name}"], capture_output=True, text=True,
                             check=False).stdout.split()
        return set(out) & set(names)

    samples = []
    try:
        subprocess.run(tmux + ["new-session", "-d", "-s", "keep", "cat"], check=True, capture_output=True)
        server = tmux_server_pid(socket)
        start_all()
        for _kill in range(repeats):
            wait_until(lambda: len(children(server, "sleep")) == count)
            time.sleep(1.0)
            old = set(children(server, "sleep"))
            start = time.perf_counter()
            for pid in old:  # the processes this function started, on its own server
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not listed())
            start_all()
            wait_until(lambda: len(set(children(server, "sleep")) - old) == count, step=0.002)
            samples.append(time.perf_counter() - start)
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True, check=False)
    return samples


def utmp_helper():
    """The utmp helper tmux runs for every pane it opens (``add``) and closes (``del``), and
    waits for, when it is built with libutempter (Debian's is); None when it is not, or
    when that cannot be told (no ldd, the library not found)."""
    tmux, ldd = shutil.which("tmux"), shutil.which("ldd")
    if tmux is None or ldd is None:
        return None
    try:
        libs = subprocess.run([ldd, tmux], capture_output=True, text=True, check=False).stdout
        lib = re.search(r"libutempter\S* => (/\S+)", libs)
        if lib is None:
            return None
        with open(lib.group(1), "rb") as handle:  # the helper's path is compiled into the library
            helper = re.search(rb"/[\w/.+-]*/utempter", handle.read())
    except OSError:
        return None
    return helper.group(0).decode() if helper and os.access(helper.group(0), os.X_OK) else None


def utmp_helper_cost(helper, count, repeats):
    """What tmux's utmp helper alone costs a mass heal of ``count``: ``count`` pairs of
    ``helper add`` and ``helper del`` (a heal's close and open, ending with the record
    removed), one after the other as the tmux server runs them, each on a pty as tmux passes
    it. The seconds of each of ``repeats`` rounds, and the exit codes seen (not 0 where the
    helper cannot write utmp: tmux runs it all the same)."""
    master, slave = pty.openpty()
    samples, codes = [], set()
    try:
        for _repeat in range(repeats):
            start = time.perf_counter()
            for _pane in range(count):
                for verb in ("add", "del"):
                    pid = os.posix_spawn(helper, [helper, verb], os.environ,
                                         file_actions=[(os.POSIX_SPAWN_DUP2, master, 0)])
                    codes.add(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
            samples.append(time.perf_counter() - start)
    finally:
        os.close(master)
        os.close(slave)
    return samples, codes


def idle_cost(sup, seconds, pids=()):
    """The supervisor's idle CPU (% of one core) over ``seconds``, and that of ``pids``."""
    pids = [sup.supervisor_pid()] + list(pids)
    cpu0, t0 = [cpu_seconds(pid) for pid in pids], time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    costs = [100.0 * (cpu_seconds(pid) - before) / elapsed for pid, before in zip(pids, cpu0)]
    return costs[0] if len(costs) == 1 else costs


def main():
    trials, idle, count = arg("--trials", 20), arg("--idle", 20.0), arg("--agents", 50)
    masses = arg("--mass", 5)
    tmp = tempfile.mkdtemp(prefix="agentloops-heal-")
    results, spreads = {}, {}
    classified = guard = None
    try:
        sup = ClassifiedAgents(os.path.join(tmp, "ClassifiedAgents"), count)
        try:
            wait_until(lambda: sup.states().count("idle") == count, timeout=60, step=0.2)
            time.sleep(1.0)
            classified = idle_cost(sup, idle)
        finally:
            sup.close()
        for kind in (TmuxAgents, Supervisord):
            try:
                sup = kind(os.path.join(tmp, kind.__name__), count)
            except FileNotFoundError:
                print("%s: not installed (pip install supervisor), skipped" % kind.name)
                continue
            try:
                time.sleep(1.0)
                if isinstance(sup, TmuxAgents):
                    wait_until(lambda: sup.guard_pid() is not None, timeout=30, step=0.1)
                    time.sleep(1.0)
                    cost, guard = idle_cost(sup, idle, [sup.guard_pid()])
                else:
                    cost = idle_cost(sup, idle)
                samples = single_kills(sup, trials)
                time.sleep(2.0)  # the last single kill's agent too has been up beyond RESTART_SPACING
                mass = []
                for _kill in range(masses):
                    mass.append(mass_kill(sup, count))
                    time.sleep(2.0)  # beyond the watchdog's RESTART_SPACING: a kill of agents up for a while
                results[kind.name] = (statistics.median(samples), max(samples), statistics.median(mass), cost)
                spreads[kind.name] = spread(mass)
            finally:
                sup.close()
        floor = tmux_floor(tmp, count, masses)
        helper = utmp_helper()
        utmp, codes = utmp_helper_cost(helper, count, masses) if helper else (None, set())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("heal latency with %d agents: %d single kill -9s, then all %d at once %d times (median); idle over %.0fs"
          % (count, trials, count, masses, idle))
    print("  %-20s %10s %10s %12s %12s" % ("supervisor", "median", "worst", "all %d" % count, "idle CPU"))
    for name, (median, worst, mass, cost) in results.items():
        print("  %-20s %9.3fs %9.3fs %11.3fs %11.3f%%" % (name, median, worst, mass, cost))
    if classified is not None:
        print("  %-20s %10s %10s %12s %11.3f%%" % (ClassifiedAgents.name, "-", "-", "-", classified))
    if guard is not None:
        print("  %-20s %10s %10s %12s %11.3f%%" % ("its guard", "-", "-", "-", guard))
    print("  %-20s %10s %10s %11.3fs %12s   (no engine: %d deaths read, %d sessions exec'ing sleep directly)"
          % ("tmux alone", "-", "-", statistics.median(floor), "-", count, count))
    if utmp is not None:
        print("  %-20s %10s %10s %11.3fs %12s   (tmux links libutempter: %s add and del, %d times each, "
              "one after the other, as the server runs it for every pane it opens and closes; exit %s)"
              % ("its utmp helper", "-", "-", statistics.median(utmp), "-", helper, count,
                 ", ".join(str(c) for c in sorted(codes))))
    ours, theirs = results.get("agentloops watchdog"), results.get("supervisord")
    ok = ours is not None and theirs is not None and ours[0] <= 0.3 and ours[1] <= 1.0
    ok = ok and ours[3] <= 2 * theirs[3] and classified is not None and classified <= 2 * theirs[3]
    ok = ok and ours[2] < theirs[2]
    if ours is not None and theirs is not None:
        result("heal of one kill -9, median (worst)", "%.3fs (%.3fs)" % (ours[0], ours[1]),
               "%.3fs (%.3fs) supervisord" % (theirs[0], theirs[1]), "-", "<= 0.3s (<= 1s)",
               ours[0] <= 0.3 and ours[1] <= 1.0)
        result("heal of all %d killed at once" % count, spreads["agentloops watchdog"],
               "%s supervisord; tmux alone %s%s" % (spreads["supervisord"], spread(floor),
                                                    ", of which its utmp helper %s" % spread(utmp) if utmp else ""),
               "%.2fx" % (ours[2] / theirs[2]), "< 1x", ours[2] < theirs[2])
        result("watchdog idle CPU, %d agents" % count, "%.3f%%" % ours[3], "%.3f%% supervisord" % theirs[3],
               "%.2fx" % (ours[3] / max(theirs[3], 1e-9)), "<= 2x", ours[3] <= 2 * theirs[3])
        if classified is not None:
            result("watchdog idle CPU, %d classified agents" % count, "%.3f%%" % classified,
                   "%.3f%% supervisord" % theirs[3], "%.2fx" % (classified / max(theirs[3], 1e-9)), "<= 2x",
                   classified <= 2 * theirs[3])
    if ours is not None and theirs is not None and classified is not None:
        print("idle CPU against supervisord's: %.1fx, classified %.1fx; all %d healed in %.3fs vs %.3fs" % (
            ours[3] / max(theirs[3], 1e-9), classified / max(theirs[3], 1e-9), count, ours[2], theirs[2]))
    print("goals: median <= 0.3s, worst <= 1s, idle and classified idle <= 2x supervisord's, all %d healed faster "
          "than supervisord: %s" % (count, "met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
