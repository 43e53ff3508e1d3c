#!/usr/bin/env python3
"""svna on a Ballista cluster of one machine (issue 18): the standard pipeline at one scale,
run locally and on a scheduler with 1, 2 and 4 executors, every process the release binary.

    python3 bench/cluster.py --scale 10 --executors 1 --executors 2 --executors 4 [--repeat 2]

One machine can show what the cluster costs and that results agree, not a speed-up: the
executors share its cores. Each executor gets `--cores` (default: all of them), as a stock
Ballista executor would. Prints a markdown table and writes bench/cluster-<scale>.json with,
per configuration, the wall time of `svna run` (median of the repeats), its stages' summed
time, the output rows (which must equal the local run's), and each process's peak resident
memory (VmHWM from /proc just before it is stopped; /usr/bin/time for the client).
"""
import argparse, json, os, signal, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "svna"
DEFINITIONS = sorted(p.stem for p in (ROOT / "definitions").glob("*.csv"))
SCHEDULER_PORT = 50250


def run(args, **kw):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if done.returncode not in (0, 1):
        sys.exit(f"failed: {' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}")
    return done


def timed_run(store, cluster):
    """`svna run` (on the cluster when `cluster`); returns seconds, client peak MiB, record."""
    args = [BINARY, "run", "--store", store, "--json"]
    if cluster:
        args += ["--cluster", f"df://127.0.0.1:{SCHEDULER_PORT}"]
    with tempfile.NamedTemporaryFile("r") as rss:
        started = time.perf_counter()
        done = run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *args])
        seconds = time.perf_counter() - started
        peak = int(rss.read().strip().splitlines()[-1]) / 1024
    return seconds, peak, json.loads(done.stdout)


def wait_for_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"nothing listens on port {port} after {timeout} s")


def peak_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_cluster(executors, cores, logs):
    env = dict(os.environ, RUST_LOG="warn")
    procs = [subprocess.Popen([BINARY, "cluster", "scheduler", "--bind", f"127.0.0.1:{SCHEDULER_PORT}"],
                              stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT, env=env)]
    wait_for_port(SCHEDULER_PORT)
    for i in range(executors):
        port = SCHEDULER_PORT + 10 + 2 * i
        args = [BINARY, "cluster", "executor", "--scheduler", f"127.0.0.1:{SCHEDULER_PORT}",
                "--bind", f"127.0.0.1:{port}", "--work-dir", logs / f"executor-{i}"]
        if cores:
            args += ["--cores", str(cores)]
        (logs / f"executor-{i}").mkdir()
        procs.append(subprocess.Popen([str(a) for a in args], stdout=open(logs / f"executor-{i}.log", "w"),
                                      stderr=subprocess.STDOUT, env=env))
        wait_for_port(port)
    time.sleep(2)  # executors register with the scheduler after their servers are up
    return procs


def stop_cluster(procs):
    peaks = [peak_mib(p.pid) for p in procs]
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    return {"scheduler_peak_mib": peaks[0], "executor_peak_mib": peaks[1:]}


def output_rows(record):
    return {s["name"]: s["output"].get("rows") for s in record["stages"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--executors", action="append", type=int, default=[])
    parser.add_argument("--cores", type=int, help="cores per executor (default: all)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not BINARY.exists():
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="svna-cluster-bench-"))
    extracts, store = work / "extracts", work / "store"
    run([BINARY, "synth", "--out", extracts, "--scale", args.scale])
    loads = [(p.stem, p) for p in sorted(extracts.glob("*.csv"))]
    loads += [(d, ROOT / "definitions" / f"{d}.csv") for d in DEFINITIONS]
    for name, path in loads:
        run([BINARY, "load", "--store", store, "--dataset", name, path])

    results = []
    runs = [timed_run(store, False) for _ in range(args.repeat)]
    local_rows = output_rows(runs[0][2])
    results.append({"where": "local", "seconds": statistics.median(r[0] for r in runs),
                    "client_peak_mib": max(r[1] for r in runs), "rows_equal": True,
                    "stages_s": sum(s["duration_ms"] for s in runs[0][2]["stages"]) / 1000})
    for n in args.executors or [1, 2, 4]:
        logs = work / f"cluster-{n}"
        logs.mkdir()
        procs = start_cluster(n, args.cores, logs)
        try:
            runs = [timed_run(store, True) for _ in range(args.repeat)]
        finally:
            peaks = stop_cluster(procs)
        ran_on = {s.get("ran_on", "local") for r in runs for s in r[2]["stages"]}
        assert ran_on == {f"ballista df://127.0.0.1:{SCHEDULER_PORT}"}, ran_on
        results.append({"where": f"{n} executor(s)", "seconds": statistics.median(r[0] for r in runs),
                        "client_peak_mib": max(r[1] for r in runs),
                        "rows_equal": all(output_rows(r[2]) == local_rows for r in runs),
                        "stages_s": sum(s["duration_ms"] for s in runs[0][2]["stages"]) / 1000, **peaks})

    print(f"scale {args.scale}, {os.cpu_count()} cores, {args.repeat} runs each (median), release binary")
    print("| where | `svna run` s | stages s | rows equal local | client peak MiB | scheduler MiB | executor peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        executors = ", ".join(f"{m:.0f}" for m in r.get("executor_peak_mib", [])) or "-"
        scheduler = f"{r['scheduler_peak_mib']:.0f}" if "scheduler_peak_mib" in r else "-"
        print(f"| {r['where']} | {r['seconds']:.1f} | {r['stages_s']:.1f} | {'yes' if r['rows_equal'] else 'NO'} "
              f"| {r['client_peak_mib']:.0f} | {scheduler} | {executors} |")
    out = ROOT / "bench" / f"cluster-{args.scale:g}.json"
    out.write_text(json.dumps({"scale": args.scale, "cores": os.cpu_count(), "results": results}, indent=2))
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
