import json, subprocess, sys, time
from harness import System
from scenarios import event_latency
system = System().start()
try:
    procs = []
    for name in ("pricing", "finance", "ownership", "gateway", "exemption"):
        procs.append(subprocess.Popen([".venv/bin/py-spy", "record", "-r", "50", "-p", str(system.pid(name)), "-f", "raw",
                                       "-o", f"/tmp/prof/{name}.txt", "-d", "32", "--nonblocking"], cwd="/work/main",
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    result = event_latency(system, rate=float(sys.argv[1]), seconds=30)
    print(json.dumps({k: result[k] for k in ("cpu_ms_per_deal", "latency_ms", "conclusion_request_ms")}))
    for p in procs: p.wait()
finally:
    system.stop()
