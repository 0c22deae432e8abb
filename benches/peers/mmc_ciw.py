"""M/M/c in Ciw: prints JSON with the mean response time and the simulated requests per
CPU-second. Usage: mmc_ciw.py LAMBDA MU C N SEED"""
import json, sys, time

import ciw

lam, mu, c, n, seed = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
network = ciw.create_network(
    arrival_distributions=[ciw.dists.Exponential(rate=lam)],
    service_distributions=[ciw.dists.Exponential(rate=mu)],
    number_of_servers=[c],
)
ciw.seed(seed)
sim = ciw.Simulation(network)
horizon = n / lam
start = time.process_time()
sim.simulate_until_max_time(horizon)
cpu = time.process_time() - start
records = sim.get_all_records()
resp = [r.exit_date - r.arrival_date for r in records]
print(json.dumps({"peer": "Ciw " + ciw.__version__, "mean_response_s": sum(resp) / len(resp), "requests": len(resp), "cpu_s": cpu}))
