#!/usr/bin/env python3
"""Measure real web servers and compare them with serversim's prediction of the same runs.

For each server (started here, on 127.0.0.1, with the fixed configuration stated in SERVERS) and
each workload of the synthetic app (app.py: spin cpu_ms of CPU, sleep io_ms), it runs the load
generator oha closed-loop (`-c N`, each connection sends its next request as soon as the last is
answered) and open-loop (`-q RATE`, evenly spaced, latency corrected) below, at and above the
server's estimated capacity. Every oha run has a duration; the whole harness has a time cap. It
records throughput (200 responses per second), latency percentiles, RSS and PSS summed over the
server's processes (/proc/PID/smaps_rollup, sampled mid-run), the server's CPU per request, and the
CPU the rest of the machine used (load generator included), so noise is visible. Every process it
starts is a process-group leader and is stopped by its own group id, also on Ctrl-C or an error.

For every run it writes the matching serversim scenario (the server's preset with the sizes used
here, or architecture fields; the same demands, measured CPU per request by default; 2 cores;
`users = N, think_ms = 0` or a uniform open load at the rate), runs `serversim run FILE --json`
and prints measured versus predicted side by side.

Install first: scripts/validate/install.sh. Then, e.g.:
  scripts/validate/.venv/bin/python scripts/validate/harness.py --quick
  scripts/validate/.venv/bin/python scripts/validate/harness.py --out results.json --markdown table.md
  scripts/validate/.venv/bin/python scripts/validate/harness.py --from results.json   # re-predict only
Linux only (/proc). Not part of CI: it needs minutes and a quiet machine.
"""
import argparse
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV_BIN = HERE / ".venv" / "bin"
OHA = HERE / ".tools" / "bin" / "oha"
APACHE = Path("/usr/sbin/apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
NGINX = Path("/usr/sbin/nginx")
CORES = 2
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1  # what /proc/stat sums over

# name: (cpu_ms, io_ms) of every request
WORKLOADS = {
    "io": (1.0, 50.0),
    "cpu": (10.0, 0.0),
    "mixed": (5.0, 20.0),
}

# Memory estimates for the servers that have no preset: the same numbers the presets use for one
# Python process (about 10 MB interpreter and server, 0.25 MB per thread; see
# models/presets/cherrypy-wsgiserver.toml). They are estimates, and the table shows how far off.
PYTHON_PROCESS_MB = {"process_mb": 10.0, "thread_mb": 0.25, "shared_mb": 0.0}
# app.py imports only the standard library, so the model's application size is 0 rather than the
# presets' 20 MB Django-era app: the memory comparison then checks the per-process estimates.
APP_FIELDS = {"app_mb": 0.0}


class HarnessError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Processes: every one we start leads its own process group; we stop it by that group's id.


class Proc:
    live = []  # every Proc not yet stopped, for the finally in main()

    def __init__(self, name, argv, log, cwd=None, env=None):
        self.name = name
        self.log_path = log
        self.log = open(log, "ab")
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=self.log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self.pgid = self.pid  # start_new_session: the child called setsid()
        self.known = {}  # pid -> start time of every process seen in its tree, to check they are all gone
        Proc.live.append(self)

    def alive(self):
        return self.popen.poll() is None

    def tree(self):
        """The leader and every descendant (and anything left in its process group)."""
        pids = tree_pids(self.pid, self.pgid)
        for pid in pids:
            st = proc_stat(pid)
            if st is not None:
                self.known.setdefault(pid, st["start"])
        return pids

    def log_tail(self, n=15):
        try:
            lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, grace_s=10.0):
        if self not in Proc.live:
            return
        self.tree()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                pass
            end = time.monotonic() + (grace_s if sig == signal.SIGTERM else 5.0)
            while time.monotonic() < end:
                self.popen.poll()
                if not self._remaining():
                    break
                time.sleep(0.1)
            if not self._remaining():
                break
        # anything of ours that left the group (setsid in a child) still gets killed by its pid
        for pid in self._remaining():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.poll()
        self.log.close()
        Proc.live.remove(self)

    def _remaining(self):
        """Our processes still running: the group's, and any seen in the tree (same pid and start time)."""
        left = set()
        for pid in set(self.known) | pids_in_group(self.pgid):
            st = proc_stat(pid)
            if st is None or st["state"] == "Z":
                continue
            if st["pgid"] == self.pgid or self.known.get(pid) == st["start"]:
                left.add(pid)
        return left


def proc_stat(pid):
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    # fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
    return {"state": rest[0], "ppid": int(rest[1]), "pgid": int(rest[2]),
            "ticks": int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14]), "start": int(rest[19])}


def all_stats():
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None:
                out[int(entry)] = st
    return out


def pids_in_group(pgid):
    return {pid for pid, st in all_stats().items() if st["pgid"] == pgid}


def tree_pids(root, pgid):
    stats = all_stats()
    children = {}
    for pid, st in stats.items():
        children.setdefault(st["ppid"], []).append(pid)
    found = set()
    todo = [root] if root in stats else []
    todo += [pid for pid, st in stats.items() if st["pgid"] == pgid]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    return {pid for pid in found if stats.get(pid, {}).get("state") != "Z"}


def memory_kb(pids):
    """RSS, PSS and USS (private) summed over pids, in kB, from /proc/PID/smaps_rollup."""
    rss = pss = uss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            key, value = parts[0], int(parts[1]) if parts[1].isdigit() else 0
            if key == "Rss:":
                rss += value
            elif key == "Pss:":
                pss += value
            elif key in ("Private_Clean:", "Private_Dirty:"):
                uss += value
    return rss, pss, uss


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        st = proc_stat(pid)
        if st is not None:
            total += st["ticks"]
    return total


def machine_ticks():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=3.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def wait_ready(procs, port, timeout_s=30.0):
    end = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < end:
        for p in procs:
            if not p.alive():
                raise HarnessError(f"{p.name} exited with code {p.popen.returncode}:\n{p.log_tail()}")
        try:
            status = http_get(port, "/?cpu_ms=0&io_ms=0&bytes=10")
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}:\n{p.log_tail()}" for p in procs)
    raise HarnessError(f"not ready on port {port} after {timeout_s:.0f} s ({last})\n{tails}")


# ---------------------------------------------------------------------------------------------
# The servers: a fixed configuration each, and the serversim server that models it.


@dataclass
class Server:
    name: str
    config: str          # the configuration in words, for the report
    processes: int       # processes running the app (each has its own GIL)
    threads: int         # threads per process running the app
    model: dict          # the [[server]] table of the matching scenario
    start: object        # start(tmp: Path, port: int) -> [Proc]
    needs: list = field(default_factory=list)  # files that must exist

    @property
    def workers(self):
        return self.processes * self.threads


def py_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(HERE)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def gunicorn_argv(port, tmp, worker_class, workers, threads=1):
    argv = [str(VENV_BIN / "gunicorn"), "--chdir", str(HERE), "-k", worker_class, "-w", str(workers),
            "-b", f"{HOST}:{port}", "--backlog", "2048", "--log-level", "warning",
            "--worker-tmp-dir", str(tmp), "--pid", str(tmp / f"gunicorn-{port}.pid")]
    if worker_class == "gthread":
        argv += ["--threads", str(threads)]
    return argv + ["app:application"]


def start_gunicorn(worker_class, workers, threads=1):
    def start(tmp, port):
        return [Proc(f"gunicorn-{worker_class}", gunicorn_argv(port, tmp, worker_class, workers, threads),
                     tmp / "gunicorn.log", cwd=HERE, env=py_env())]
    return start


def start_cheroot(tmp, port):
    argv = [str(VENV_BIN / "cheroot"), "--chdir", str(HERE), "--bind", f"{HOST}:{port}",
            "--threads", "10", "--max-threads", "10", "app:application"]
    return [Proc("cheroot", argv, tmp / "cheroot.log", cwd=HERE, env=py_env())]


def start_waitress(tmp, port):
    argv = [str(VENV_BIN / "waitress-serve"), f"--listen={HOST}:{port}", "--threads=4", "app:application"]
    return [Proc("waitress", argv, tmp / "waitress.log", cwd=HERE, env=py_env())]


def start_twisted(tmp, port):
    argv = [str(VENV_BIN / "python"), str(HERE / "app.py"), "twisted", str(port), "10"]
    return [Proc("twisted", argv, tmp / "twisted.log", cwd=HERE, env=py_env())]


def apache_conf(tmp, port, mpm, body):
    run = tmp / "run"
    run.mkdir(exist_ok=True)
    appdir = tmp / "app"
    appdir.mkdir(exist_ok=True)
    shutil.copy(HERE / "app.py", appdir / "app.py")
    for d in (tmp, run, appdir):
        d.chmod(0o755)
    (appdir / "app.py").chmod(0o644)
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    conf = f"""# written by scripts/validate/harness.py
ServerRoot "{tmp}"
DefaultRuntimeDir "{run}"
PidFile "{run}/apache2.pid"
Mutex file:{run} default
ErrorLog "{tmp}/apache-error.log"
LogLevel warn
ServerName {HOST}
Listen {HOST}:{port}
ListenBacklog 511
{user}LoadModule mpm_{mpm}_module {APACHE_MODULES}/mod_mpm_{mpm}.so
LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so
LoadModule wsgi_module {APACHE_MODULES}/mod_wsgi.so
KeepAlive Off
Timeout 60
<Directory "{appdir}">
    Require all granted
</Directory>
WSGIScriptAlias / "{appdir}/app.py"
WSGIApplicationGroup %{{GLOBAL}}
{body}
"""
    path = tmp / "apache2.conf"
    path.write_text(conf)
    return path


def start_apache_prefork(tmp, port):
    conf = apache_conf(tmp, port, "prefork", """StartServers 8
MinSpareServers 1
MaxSpareServers 8
ServerLimit 8
MaxRequestWorkers 8
MaxConnectionsPerChild 0
""")
    return [Proc("apache2-prefork", [str(APACHE), "-f", str(conf), "-DFOREGROUND"], tmp / "apache.log",
                 env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"})]


def start_apache_daemon(tmp, port):
    conf = apache_conf(tmp, port, "event", f"""StartServers 2
ServerLimit 2
ThreadLimit 25
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 25
MaxSpareThreads 75
MaxConnectionsPerChild 0
WSGISocketPrefix {tmp}/run/wsgi
WSGIDaemonProcess validate processes=2 threads=8 display-name=wsgi-validate
WSGIProcessGroup validate
""")
    return [Proc("apache2-event", [str(APACHE), "-f", str(conf), "-DFOREGROUND"], tmp / "apache.log",
                 env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"})]


def start_nginx_gunicorn(tmp, port):
    upstream = free_port()
    procs = [Proc("gunicorn-sync (behind nginx)", gunicorn_argv(upstream, tmp, "sync", 5), tmp / "gunicorn.log",
                  cwd=HERE, env=py_env())]
    wait_ready(procs, upstream)
    tmp.chmod(0o755)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""# written by scripts/validate/harness.py
daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    upstream app {{ server {HOST}:{upstream}; }}
    server {{
        listen {HOST}:{port} backlog=511;
        location / {{ proxy_pass http://app; }}
    }}
}}
""")
    procs.append(Proc("nginx", [str(NGINX), "-e", str(tmp / "nginx-error.log"), "-p", str(tmp), "-c", str(conf)],
                      tmp / "nginx.log", env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"}))
    return procs


def threaded_model(threads):
    return {"architecture": "threaded", "threads": threads, "gil": True, **PYTHON_PROCESS_MB}


SERVERS = {s.name: s for s in [
    Server("gunicorn-sync", "gunicorn 5 sync workers (-w 5 -k sync), backlog 2048",
           5, 1, {"preset": "gunicorn-sync", "processes": 5},
           start_gunicorn("sync", 5), [VENV_BIN / "gunicorn"]),
    Server("gunicorn-gthread", "gunicorn 5 gthread workers x 4 threads (-w 5 -k gthread --threads 4)",
           5, 4, {"preset": "gunicorn-gthread", "processes": 5, "threads": 4},
           start_gunicorn("gthread", 5, 4), [VENV_BIN / "gunicorn"]),
    Server("apache-prefork", "Apache 2.4 MPM prefork, 8 children (Start/ServerLimit/MaxRequestWorkers 8), "
           "mod_wsgi embedded, KeepAlive Off",
           8, 1, {"preset": "apache-prefork-mod_python", "processes": 8, "start_processes": 8,
                  "min_spare_workers": 1, "max_spare_workers": 8},
           start_apache_prefork, [APACHE, APACHE_MODULES / "mod_wsgi.so", APACHE_MODULES / "mod_mpm_prefork.so"]),
    Server("cheroot", "cheroot, 10 threads (--threads 10 --max-threads 10)",
           1, 10, {"preset": "cherrypy-wsgiserver", "threads": 10},
           start_cheroot, [VENV_BIN / "cheroot"]),
    Server("waitress", "waitress, 4 threads (--threads=4, waitress's default)",
           1, 4, threaded_model(4), start_waitress, [VENV_BIN / "waitress-serve"]),
    Server("twisted", "twisted.web WSGIResource on the reactor's thread pool of 10 threads",
           1, 10, threaded_model(10), start_twisted, [VENV_BIN / "python"]),
    Server("apache-wsgi-daemon", "Apache 2.4 MPM event, 2 children x 25 threads, KeepAlive Off, in front of "
           "mod_wsgi daemon mode: 2 daemon processes x 8 threads",
           2, 8, {"preset": "mod_wsgi-daemon", "daemons": 2, "threads": 8, "frontend_processes": 2},
           start_apache_daemon, [APACHE, APACHE_MODULES / "mod_wsgi.so", APACHE_MODULES / "mod_mpm_event.so"]),
    Server("nginx-gunicorn", "nginx, 1 worker process, proxy_pass to gunicorn 5 sync workers",
           5, 1, {"preset": "nginx-gunicorn", "daemons": 5, "threads": 1, "frontend_processes": 1},
           start_nginx_gunicorn, [NGINX, VENV_BIN / "gunicorn"]),
]}


# ---------------------------------------------------------------------------------------------
# Load: oha, bounded by a duration; its CPU from wait4().


def url(port, cpu_ms, io_ms, nbytes):
    return f"http://{HOST}:{port}/?cpu_ms={cpu_ms:g}&io_ms={io_ms:g}&bytes={nbytes}"


def run_oha(target, duration_s, connections, rate, tmp, on_tick=None):
    """Run oha for duration_s; returns (its JSON, its CPU seconds, wall seconds)."""
    out = tmp / "oha.json"
    if out.exists():
        out.unlink()
    argv = [str(OHA), target, "-z", f"{duration_s:g}s", "-c", str(connections), "--no-tui",
            "--output-format", "json", "-o", str(out), "--disable-keepalive", "-t", "60s",
            "--worker-threads", "1"]
    if rate is not None:
        argv += ["-q", f"{rate:g}", "--latency-correction"]
    p = Proc("oha", argv, tmp / "oha.log")
    start = time.monotonic()
    deadline = start + duration_s + 30.0
    rusage = None
    try:
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                rusage = ru
                p.popen.returncode = os.waitstatus_to_exitcode(status)
                break
            if on_tick is not None:
                on_tick(time.monotonic() - start)
            if time.monotonic() > deadline:
                raise HarnessError(f"oha ran past {duration_s + 30:.0f} s; stopped")
            time.sleep(0.05)
    finally:
        p.stop()
    wall = time.monotonic() - start
    if p.popen.returncode != 0 or not out.exists():
        raise HarnessError(f"oha failed (exit {p.popen.returncode}):\n{p.log_tail()}")
    return json.loads(out.read_text()), rusage.ru_utime + rusage.ru_stime, wall


def measure(server_procs, target, duration_s, connections, rate, tmp):
    samples = []
    marks = [0.25, 0.5, 0.75]

    def tick(elapsed):
        if marks and elapsed >= marks[0] * duration_s:
            marks.pop(0)
            pids = set().union(*(p.tree() for p in server_procs))
            rss, pss, uss = memory_kb(pids)
            samples.append({"at_s": round(elapsed, 2), "processes": len(pids),
                            "rss_mb": rss / 1024, "pss_mb": pss / 1024, "uss_mb": uss / 1024})

    pids0 = set().union(*(p.tree() for p in server_procs))
    srv0, (busy0, total0) = cpu_ticks(pids0), machine_ticks()
    report, oha_cpu_s, wall = run_oha(target, duration_s, connections, rate, tmp, tick)
    pids1 = set().union(*(p.tree() for p in server_procs))
    srv1, (busy1, total1) = cpu_ticks(pids0 | pids1), machine_ticks()
    for p in server_procs:
        if not p.alive():
            raise HarnessError(f"{p.name} died during the run:\n{p.log_tail()}")

    summary = report.get("summary", {})
    total_s = summary.get("total") or duration_s
    codes = report.get("statusCodeDistribution", {})
    ok = int(codes.get("200", 0))
    errors = dict(report.get("errorDistribution", {}))
    deadline_aborts = sum(v for k, v in errors.items() if "deadline" in k.lower())
    other_status = sum(int(v) for k, v in codes.items() if k != "200")
    pct = report.get("latencyPercentiles", {})  # seconds, over every response

    def ms(key):
        v = pct.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v * 1000.0

    wall_ticks = max(total1 - total0, 1)
    machine_cores = (busy1 - busy0) / wall_ticks * NCPU  # cores busy on average
    seconds = wall_ticks / CLK_TCK / NCPU
    server_cpu_s = (srv1 - srv0) / CLK_TCK
    server_cores = server_cpu_s / seconds
    oha_cores = oha_cpu_s / seconds
    mem = {k: (sum(s[k] for s in samples) / len(samples) if samples else None)
           for k in ("rss_mb", "pss_mb", "uss_mb", "processes")}
    return {
        "throughput_rps": ok / total_s,
        "completed": ok,
        "other_status": other_status,
        "errors": sum(errors.values()) - deadline_aborts,
        "deadline_aborts": deadline_aborts,
        "error_kinds": errors,
        "status_codes": codes,
        "duration_s": total_s,
        "latency_ms": {"mean": (summary.get("average") or 0) * 1000.0, "p50": ms("p50"), "p90": ms("p90"),
                       "p99": ms("p99")},
        "memory": mem,
        "memory_samples": samples,
        "server_cpu_s": server_cpu_s,
        "cpu_per_request_ms": server_cpu_s * 1000.0 / ok if ok else None,
        "server_cores": server_cores,
        "loadgen_cores": oha_cores,
        "machine_busy_cores": machine_cores,
        "other_cores": max(machine_cores - server_cores - oha_cores, 0.0),
        "wall_s": wall,
    }


# ---------------------------------------------------------------------------------------------
# serversim: the matching scenario, the run, the capacity estimate.


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, str):
        return json.dumps(v)
    raise TypeError(v)


def scenario_toml(server, run, cpu_ms, io_ms):
    """The serversim scenario of one measured run: same server sizes, demands, cores and load."""
    lines = [f"# written by scripts/validate/harness.py: the model of one measured run",
             f"# server: {server.config}",
             f"# workload {run['workload']}: app cpu_ms = {run['cpu_ms']:g}, io_ms = {run['io_ms']:g}; "
             f"the model's cpu_ms is {run['demands']}",
             "name = " + toml_value(f"{server.name} {run['workload']} {describe_load(run)}"),
             "", "[run]", f"duration_s = {toml_value(float(run['duration_s']))}", "warmup_s = 0.0", "seed = 1",
             "", "[machine]", f"cores = {CORES}", "", "[load]"]
    if run["loop"] == "closed":
        lines += ['arrival = "closed"', f"users = {run['users']}", "think_ms = 0.0"]
    else:
        lines += ['arrival = "uniform"', f"rate_rps = {toml_value(float(run['rate_rps']))}"]
    lines += ["", "[[request]]", 'name = "synthetic"', f"cpu_ms = {toml_value(float(cpu_ms))}",
              f"io_ms = {toml_value(float(io_ms))}", f"response_kb = {toml_value(run['bytes'] / 1024)}",
              "", "[[server]]", f"name = {toml_value(server.name)}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in {**server.model, **APP_FIELDS}.items()]
    return "\n".join(lines) + "\n"


def serversim_cmd(explicit):
    if explicit:
        return [explicit]
    built = ROOT / "target" / "release" / "serversim"
    if built.exists():
        return [str(built)]
    if shutil.which("serversim"):
        return ["serversim"]
    return ["cargo", "run", "--release", "-q", "--manifest-path", str(ROOT / "Cargo.toml"), "--"]


def serversim_run(cmd, path):
    try:
        p = subprocess.run(cmd + ["run", str(path), "--json"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if p.returncode != 0:
        return None, (p.stderr or p.stdout).strip()[-2000:]
    try:
        return json.loads(p.stdout)["servers"][0], None
    except (ValueError, KeyError, IndexError) as e:
        return None, f"unreadable serversim output: {e}"


def model_rss(mem):
    """The `ps`-style RSS sum from serversim's memory_mb, under whichever name this version uses."""
    for key in ("rss_sum_mean", "rss_mean", "rss"):
        if isinstance(mem.get(key), (int, float)):
            return mem[key]
    for key, v in mem.items():
        if "rss" in key and "mean" in key and "largest" not in key and isinstance(v, (int, float)):
            return v
    return None


def predicted(srv):
    lat = srv.get("latency_ms", {})
    mem = srv.get("memory_mb", {})
    req = srv.get("requests", {})
    return {"throughput_rps": srv.get("throughput_rps"),
            "latency_ms": {k: lat.get(k) for k in ("mean", "p50", "p90", "p99")},
            "memory": {"unique_mb": mem.get("mean"), "rss_mb": model_rss(mem)},
            "lost": req.get("lost"), "capacity_rps": srv.get("capacity_rps"),
            "bottleneck": srv.get("bottleneck"), "warnings": srv.get("warnings", [])}


def hand_capacity(server, cpu_ms, io_ms):
    """Fallback capacity: the pool's Little's-law limit, the cores, and one core per GIL."""
    limits = [server.workers * 1000.0 / (cpu_ms + io_ms)]
    if cpu_ms > 0:
        limits.append(min(CORES, server.processes) * 1000.0 / cpu_ms)
    return min(limits)


def estimate_capacity(cmd, server, workload, nbytes, scen_dir):
    cpu_ms, io_ms = WORKLOADS[workload]
    probe = {"workload": workload, "cpu_ms": cpu_ms, "io_ms": io_ms, "bytes": nbytes, "loop": "closed",
             "users": 1, "duration_s": 1.0, "demands": "nominal (capacity probe)"}
    path = scen_dir / f"{server.name}-{workload}-capacity.toml"
    path.write_text(scenario_toml(server, probe, cpu_ms, io_ms))
    srv, err = serversim_run(cmd, path) if cmd else (None, "no serversim")
    if srv and srv.get("capacity_rps"):
        return srv["capacity_rps"], "serversim"
    return hand_capacity(server, cpu_ms, io_ms), f"hand formula ({err.splitlines()[0] if err else 'no estimate'})"


# ---------------------------------------------------------------------------------------------
# The plan, the runs, the table.


def describe_load(run):
    if run["loop"] == "closed":
        return f"closed {run['users']} users"
    return f"open {run['rate_rps']:.0f}/s"


def plan_runs(server, workload, capacity, args):
    cpu_ms, io_ms = WORKLOADS[workload]
    busy_at_capacity = capacity * (cpu_ms + io_ms) / 1000.0  # requests in service at capacity (Little)
    runs = []
    for level in args.closed_levels:
        users = max(1, round(level * busy_at_capacity))
        runs.append({"loop": "closed", "level": level, "users": users, "connections": users})
    for level in args.open_levels:
        rate = level * capacity
        # enough connections that the queue forms in the server, not in oha (bounded for the fds)
        conns = int(min(1000, max(16, 2 * busy_at_capacity, rate * args.duration * max(level - 0.8, 0.2))))
        runs.append({"loop": "open", "level": level, "rate_rps": round(rate, 1), "connections": conns})
    seen, unique = set(), []
    for r in runs:  # small pools can map two levels to the same user count
        key = (r["loop"], r.get("users"), r.get("rate_rps"))
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def predict(cmd, server, run, scen_dir, demands):
    if demands == "measured" and run["measured"].get("cpu_per_request_ms"):
        cpu_ms = run["measured"]["cpu_per_request_ms"]
        run["demands"] = f"the server's measured CPU per request ({cpu_ms:.2f} ms)"
    else:
        cpu_ms = run["cpu_ms"]
        run["demands"] = "the app's nominal cpu_ms"
    level = f"{run['loop']}-{run.get('users') or run.get('rate_rps')}"
    path = scen_dir / f"{server.name}-{run['workload']}-{level}-r{run['repeat']}.toml"
    path.write_text(scenario_toml(server, run, cpu_ms, run["io_ms"]))
    run["scenario"] = str(path)
    srv, err = serversim_run(cmd, path)
    run["predicted"] = predicted(srv) if srv else None
    run["predict_error"] = err
    if err:
        print(f"  serversim failed on {path.name}: {err.splitlines()[0] if err else ''}", file=sys.stderr)


def fmt(v, digits=0):
    if v is None:
        return "—"
    if digits == 0:
        return f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}"
    return f"{v:.{digits}f}"


def pair(m, p):
    return f"{fmt(m)} / {fmt(p)}"


def count_pair(m, p):
    return " / ".join("—" if v is None else f"{v:.0f}" for v in (m, p))


def table_rows(runs):
    groups = {}
    for r in runs:
        key = (r["server"], r["workload"], r["loop"], r.get("users"), r.get("rate_rps"))
        groups.setdefault(key, []).append(r)

    def mean(values):
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    rows = []
    for key, rs in groups.items():
        meas = [r["measured"] for r in rs if r.get("measured")]
        pred = [r["predicted"] for r in rs if r.get("predicted")]
        if not meas:
            continue
        rows.append([
            rs[0]["server"], rs[0]["workload"], describe_load(rs[0]) + (f" ×{len(meas)}" if len(meas) > 1 else ""),
            pair(mean(m["throughput_rps"] for m in meas), mean(p["throughput_rps"] for p in pred)),
            pair(mean(m["latency_ms"]["p50"] for m in meas), mean(p["latency_ms"]["p50"] for p in pred)),
            pair(mean(m["latency_ms"]["p99"] for m in meas), mean(p["latency_ms"]["p99"] for p in pred)),
            pair(mean(m["memory"]["rss_mb"] for m in meas), mean(p["memory"]["rss_mb"] for p in pred)),
            pair(mean(m["memory"]["pss_mb"] for m in meas), mean(p["memory"]["unique_mb"] for p in pred)),
            fmt(mean(m["cpu_per_request_ms"] for m in meas), 2),
            count_pair(mean(m["errors"] + m["other_status"] for m in meas), mean(p["lost"] for p in pred)),
            f"{fmt(mean(m['loadgen_cores'] for m in meas), 2)}+{fmt(mean(m['other_cores'] for m in meas), 2)}",
            spread([m["throughput_rps"] for m in meas]) + " / " + spread([m["latency_ms"]["p99"] for m in meas]),
        ])
    return rows


def spread(values):
    """The range of a measurement over repeats, 'min-max' ('-' for a single run)."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return "-"
    return f"{fmt(min(values), 0)}-{fmt(max(values), 0)}"



HEADER = ["server", "workload", "load", "req/s meas/pred", "p50 ms", "p99 ms", "RSS MB", "PSS/unique MB",
          "CPU/req ms", "lost", "oha+other cores", "measured range: req/s / p99 ms"]


def text_table(rows):
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in [HEADER] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows):
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(out)


def command_output(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return None


def last_word(text):
    """'Server version: Apache/2.4.71 (Debian)' -> '2.4.71'; 'oha 1.16.0' -> '1.16.0'."""
    if not text:
        return None
    for word in text.replace("/", " ").split():
        if word[:1].isdigit():
            return word
    return text


def machine_info():
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    if (VENV_BIN / "python").exists():
        code = ("from importlib.metadata import version as v\n"
                "for n in ('gunicorn','cheroot','waitress','twisted'):\n"
                "    try: print(n, v(n))\n"
                "    except Exception: pass")
        p = subprocess.run([str(VENV_BIN / "python"), "-c", code], capture_output=True, text=True)
        versions.update(dict(line.split() for line in p.stdout.splitlines()))
        versions["python"] = last_word(command_output([str(VENV_BIN / "python"), "--version"]))
    versions["apache2"] = last_word(command_output([str(APACHE), "-v"]) if APACHE.exists() else None)
    versions["nginx"] = last_word(command_output([str(NGINX), "-v"]) if NGINX.exists() else None)
    versions["oha"] = last_word(command_output([str(OHA), "--version"]) if OHA.exists() else None)
    return {"kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "versions": versions}


def write_outputs(args, results):
    runs = results["runs"]
    rows = table_rows(runs)
    print()
    print("measured / predicted (serversim). RSS: summed over the server's processes as ps does; "
          "PSS vs the model's unique memory; lost: errors + non-200 / the model's lost requests;\n"
          "oha+other: cores the load generator and everything else on the machine used on average.")
    print(text_table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
        print(f"\nresults: {args.out}")
    if args.markdown:
        m = results["machine"]
        servers = sorted({r["server"] for r in runs})
        md = [f"Measured on {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB), Linux {m['kernel']}; "
              + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".", "",
              "Servers as configured by `scripts/validate/harness.py`:", ""]
        md += [f"- **{s}**: {SERVERS[s].config}" for s in servers if s in SERVERS]
        md += ["", f"Command: `{results['command']}`. Each run {results['duration_s']:g} s; each cell is "
               "measured / predicted. RSS is summed over the server's processes as `ps` shows it, PSS is "
               "compared with the model's unique memory; CPU/req is the server's measured CPU per request "
               "(the model's `cpu_ms`" + (")" if results.get("demands") == "measured" else " was the app's)")
               + "; lost: errors and non-200 answers / the model's lost requests; oha+other: cores the "
               "load generator and the rest of the machine used.", "", markdown_table(rows), ""]
        Path(args.markdown).write_text("\n".join(md))
        print(f"markdown: {args.markdown}")


def parse_levels(text):
    return [float(x) for x in text.split(",") if x.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", help=f"comma-separated, default all: {','.join(SERVERS)}")
    ap.add_argument("--workloads", help=f"comma-separated, default all ({','.join(WORKLOADS)}; --quick: mixed)")
    ap.add_argument("--quick", action="store_true",
                    help="short runs to check the harness works: 3 s runs, mixed workload, closed at "
                         "capacity and open below/above it; a few minutes for all servers")
    ap.add_argument("--repeat", type=int, default=1, help="run every measurement K times (default 1)")
    ap.add_argument("--duration", type=float, help="seconds of each oha run (default 15, --quick 3)")
    ap.add_argument("--closed-levels", type=parse_levels,
                    help="closed-loop users as multiples of those busy at capacity (default 0.5,1,2)")
    ap.add_argument("--open-levels", type=parse_levels,
                    help="open-loop rates as multiples of the estimated capacity (default 0.5,1,1.5)")
    ap.add_argument("--bytes", type=int, default=100, help="response size (default 100)")
    ap.add_argument("--demands", choices=["measured", "nominal"], default="measured",
                    help="the model's cpu_ms: the server's measured CPU per request (default) or the app's")
    ap.add_argument("--max-minutes", type=float, help="total time cap (default 75, --quick 5)")
    ap.add_argument("--out", help="write every run's numbers to this JSON file")
    ap.add_argument("--markdown", help="write the table as Markdown (for docs/validation.md)")
    ap.add_argument("--serversim", help="the serversim binary (default target/release/serversim, else cargo run)")
    ap.add_argument("--no-predict", action="store_true", help="measure only")
    ap.add_argument("--from", dest="from_file", help="re-predict the runs of an earlier --out file, no measuring")
    args = ap.parse_args()

    if args.quick:
        args.duration = args.duration or 3.0
        args.closed_levels = args.closed_levels or [1.0]
        args.open_levels = args.open_levels or [0.5, 1.5]
        args.max_minutes = args.max_minutes or 5.0
        args.workloads = args.workloads or "mixed"
    args.duration = min(max(args.duration or 15.0, 1.0), 600.0)
    args.closed_levels = args.closed_levels or [0.5, 1.0, 2.0]
    args.open_levels = args.open_levels or [0.5, 1.0, 1.5]
    args.max_minutes = args.max_minutes or 75.0
    args.repeat = min(max(args.repeat, 1), 20)
    servers = (args.servers or ",".join(SERVERS)).split(",")
    workloads = (args.workloads or ",".join(WORKLOADS)).split(",")
    for s in servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}; known: {', '.join(SERVERS)}")
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}; known: {', '.join(WORKLOADS)}")

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop_on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored

    cmd = None if args.no_predict else serversim_cmd(args.serversim)
    out_dir = Path(args.out).resolve().parent if args.out else Path(tempfile.mkdtemp(prefix="serversim-validate-"))
    scen_dir = out_dir / "validate-scenarios"
    scen_dir.mkdir(parents=True, exist_ok=True)

    if args.from_file:
        results = json.loads(Path(args.from_file).read_text())
        for run in results["runs"]:
            if run.get("measured") and run["server"] in SERVERS:
                predict(cmd, SERVERS[run["server"]], run, scen_dir, args.demands)
        write_outputs(args, results)
        return 0

    if not OHA.exists():
        sys.exit(f"harness.py: {OHA} is missing: run scripts/validate/install.sh")
    started = time.monotonic()
    cap_s = args.max_minutes * 60.0
    results = {"command": " ".join(["harness.py"] + sys.argv[1:]), "machine": machine_info(),
               "duration_s": args.duration, "demands": args.demands, "runs": [], "skipped": []}
    print(f"serversim: {' '.join(cmd) if cmd else '(not predicting)'}; scenarios in {scen_dir}")
    interrupted = False
    try:
        for name in servers:
            server = SERVERS[name]
            missing = [str(p) for p in server.needs if not Path(p).exists()]
            if missing:
                print(f"{name}: skipped, missing {', '.join(missing)} (run install.sh)")
                results["skipped"].append({"server": name, "reason": f"missing {', '.join(missing)}"})
                continue
            if time.monotonic() - started > cap_s:
                results["skipped"].append({"server": name, "reason": "time cap"})
                continue
            tmp = Path(tempfile.mkdtemp(prefix=f"validate-{name}-"))
            port = free_port()
            procs = []
            print(f"{name}: {server.config}; port {port}")
            try:
                procs = server.start(tmp, port)
                wait_ready(procs, port)
                for workload in workloads:
                    cpu_ms, io_ms = WORKLOADS[workload]
                    capacity, source = (estimate_capacity(cmd, server, workload, args.bytes, scen_dir) if cmd
                                        else (hand_capacity(server, cpu_ms, io_ms), "hand formula"))
                    print(f"  {workload} (cpu {cpu_ms:g} ms, io {io_ms:g} ms): estimated capacity "
                          f"{capacity:.0f} req/s ({source})")
                    target = url(port, cpu_ms, io_ms, args.bytes)
                    # warm-up: every worker imports the app and touches its memory; not recorded
                    run_oha(target, min(2.0, args.duration), max(server.workers, 2), None, tmp)
                    for plan in plan_runs(server, workload, capacity, args):
                        for k in range(args.repeat):
                            if time.monotonic() - started + args.duration + 5 > cap_s:
                                results["skipped"].append({"server": name, "workload": workload,
                                                           "reason": "time cap", **plan})
                                continue
                            run = {"server": name, "workload": workload, "cpu_ms": cpu_ms, "io_ms": io_ms,
                                   "bytes": args.bytes, "repeat": k, "duration_s": args.duration,
                                   "capacity_estimate_rps": capacity, **plan}
                            run["users"] = plan.get("users")
                            run["measured"] = measure(procs, target, args.duration, plan["connections"],
                                                      plan.get("rate_rps"), tmp)
                            m = run["measured"]
                            print(f"    {describe_load(run):18} {m['throughput_rps']:7.1f} req/s  p50 "
                                  f"{fmt(m['latency_ms']['p50'])} p99 {fmt(m['latency_ms']['p99'])} ms  "
                                  f"RSS {fmt(m['memory']['rss_mb'])} PSS {fmt(m['memory']['pss_mb'])} MB  "
                                  f"CPU/req {fmt(m['cpu_per_request_ms'], 2)} ms  errors "
                                  f"{m['errors'] + m['other_status']}")
                            if cmd:
                                predict(cmd, server, run, scen_dir, args.demands)
                            results["runs"].append(run)
            except HarnessError as e:
                print(f"{name}: FAILED: {e}", file=sys.stderr)
                results["skipped"].append({"server": name, "reason": str(e)[:2000]})
            finally:
                for p in reversed(list(Proc.live)):  # this server's (and a half-started one's)
                    p.stop()
                shutil.rmtree(tmp, ignore_errors=True)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping every process started", file=sys.stderr)
    finally:
        # a second Ctrl-C must not cut the clean-up short
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        for p in reversed(list(Proc.live)):
            p.stop()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    print(f"\n{len(results['runs'])} runs in {(time.monotonic() - started) / 60:.1f} min"
          + (f"; skipped: {len(results['skipped'])}" if results["skipped"] else ""))
    for s in results["skipped"]:
        if "workload" not in s:
            print(f"  skipped {s['server']}: {s['reason'].splitlines()[0]}")
    write_outputs(args, results)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
