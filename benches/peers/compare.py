"""Runs the same M/M/c model in SimPy, Ciw and serversim; checks every mean response time against
the Erlang C answer; prints simulated requests per CPU-second and each peer's ratio to serversim.
Called by compare.sh (which provides the virtual environment)."""
import json, math, os, resource, subprocess, sys

LAM, MU, C = 72.0, 10.0, 8           # ρ = λ / (c μ) = 0.9
N_PEER = int(os.environ.get("N", "200000"))        # customers for each Python peer
N_SERVERSIM = int(os.environ.get("N_SERVERSIM", "7200000"))
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def erlang_c_response(lam, mu, c):
    a = lam / mu
    term, total = 1.0, 0.0
    for k in range(c):
        if k:
            term *= a / k
        total += term
    top = term * a / c * c / (c - a)
    p_wait = top / (total + top)
    return p_wait / (c * mu - lam) + 1 / mu


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_peer(script):
    out = subprocess.run([sys.executable, os.path.join(HERE, script), str(LAM), str(MU), str(C), str(N_PEER), "1"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_serversim():
    binary = os.path.join(ROOT, "target", "release", "serversim")
    scenario = os.path.join(HERE, "mmc.toml")
    text = open(scenario).read().replace("duration_s = 100000.0", f"duration_s = {N_SERVERSIM / LAM}")
    tmp = os.path.join(HERE, ".mmc-run.toml")
    with open(tmp, "w") as f:
        f.write(text)
    before = child_cpu()
    out = subprocess.run([binary, "run", tmp, "--json"], check=True, capture_output=True, text=True).stdout
    cpu = child_cpu() - before
    s = json.loads(out)["servers"][0]
    return {"peer": "serversim", "mean_response_s": s["latency_ms"]["mean"] / 1e3,
            "requests": s["requests"]["completed"], "cpu_s": cpu}


theory = erlang_c_response(LAM, MU, C)
results = [run_serversim(), run_peer("mmc_simpy.py"), run_peer("mmc_ciw.py")]
base = results[0]["requests"] / results[0]["cpu_s"]
print(f"M/M/{C} at rho = {LAM / (C * MU):.2f}: Erlang C mean response = {theory * 1e3:.1f} ms")
print(f"{'simulator':<14} {'requests':>10} {'mean ms':>9} {'vs theory':>10} {'req / CPU-s':>13} {'serversim is':>13}")
ok = True
for r in results:
    rate = r["requests"] / r["cpu_s"]
    err = r["mean_response_s"] / theory - 1
    # Relative standard error of a mean response over n customers at ρ = 0.9 is a few percent for
    # 200,000 customers; 5% flags a real disagreement.
    agrees = abs(err) < 0.05
    ok &= agrees
    ratio = "" if r["peer"] == "serversim" else f"{base / rate:,.0f}x faster"
    print(f"{r['peer']:<14} {r['requests']:>10,} {r['mean_response_s'] * 1e3:>9.1f} {err:>+9.1%}{'' if agrees else '!'} {rate:>13,.0f} {ratio:>13}")
sys.exit(0 if ok else 1)
