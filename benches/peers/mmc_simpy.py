"""M/M/c in SimPy: Poisson arrivals, c servers, exponential service; prints JSON with the mean
response time and the simulated requests per CPU-second. Usage: mmc_simpy.py LAMBDA MU C N SEED"""
import json, random, sys, time

import simpy

lam, mu, c, n, seed = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
env = simpy.Environment()
servers = simpy.Resource(env, capacity=c)
total = [0.0, 0]


def customer(env):
    arrived = env.now
    with servers.request() as req:
        yield req
        yield env.timeout(rng.expovariate(mu))
    total[0] += env.now - arrived
    total[1] += 1


def source(env):
    for _ in range(n):
        yield env.timeout(rng.expovariate(lam))
        env.process(customer(env))


env.process(source(env))
start = time.process_time()
env.run()
cpu = time.process_time() - start
print(json.dumps({"peer": "SimPy " + simpy.__version__, "mean_response_s": total[0] / total[1], "requests": total[1], "cpu_s": cpu}))
