#!/usr/bin/env python3
"""svna benchmark: times each step of the pipeline on synthetic data and runs the same stage
SQL in DuckDB over the same staged Parquet for a side-by-side.

    python3 bench/bench.py --scale 1 --scale 10 --repeat 3 [--memory-limit 2GiB]

It uses the release binary (built if missing), prints a table per scale and writes
bench/results-<scale>.json. DuckDB (`pip install duckdb`) is used here only, never by svna.
Peak resident memory is read from /usr/bin/time (GNU time, `-f %M`).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "svna"
# svna's one user-defined function (person linkage, the `person_links` stage); DuckDB has none.
SVNA_FUNCTION = "link_persons("
DEFINITIONS = sorted(p.stem for p in (ROOT / "definitions").glob("*.csv"))


def timed(args, env=None):
    """Runs a command; returns (seconds, peak RSS in MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *args], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            sys.exit(f"failed: {' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}")
        peak = int(rss.read().strip().splitlines()[-1]) / 1024
    return seconds, peak, done.stdout


def median(values):
    return statistics.median(values) if values else float("nan")


def one_run(scale, memory_limit, work):
    out = {}
    extracts, store = work / "extracts", work / "store"
    s, m, _ = timed([BINARY, "synth", "--out", extracts, "--scale", str(scale)])
    files = {p.stem: p for p in extracts.glob("*.csv")}
    rows = {name: sum(1 for _ in open(p)) - 1 for name, p in files.items()}
    out["synth"] = {"seconds": s, "peak_mib": m, "rows": sum(rows.values())}

    persons = files["police_persons"]
    s, m, _ = timed([BINARY, "pseudonymise", "--key", work / "key", "--token", "person_id=person_id:local:person",
                     "--token", "offence_id=offence_id:local:offence", persons, "-o", work / "tokenised.csv"])
    out["pseudonymise"] = {"seconds": s, "peak_mib": m, "rows": rows["police_persons"], "rows_per_s": rows["police_persons"] / s}

    total_bytes, total_rows, seconds, peak = 0, 0, 0.0, 0.0
    # In name order, as the golden test loads: a dataset that points into another (persons
    # into offences) comes after it, and intake refuses it otherwise.
    loads = sorted([(name, path) for name, path in files.items()] + [(d, ROOT / "definitions" / f"{d}.csv") for d in DEFINITIONS])
    for name, path in loads:
        s, m, _ = timed([BINARY, "load", "--store", store, "--dataset", name, path])
        seconds += s
        peak = max(peak, m)
        total_bytes += path.stat().st_size
        total_rows += rows.get(name, 0)
    out["intake"] = {"seconds": seconds, "peak_mib": peak, "mb_per_s": total_bytes / 1e6 / seconds, "rows_per_s": total_rows / seconds, "csv_mb": total_bytes / 1e6}

    args = [BINARY, "run", "--store", store, "--json"] + (["--memory-limit", memory_limit] if memory_limit else [])
    s, m, stdout = timed(args)
    record = json.loads(stdout)
    out["pipeline"] = {"seconds": s, "peak_mib": m, "stages": {st["name"]: st["duration_ms"] / 1000 for st in record["stages"]},
                       # The stage without its tests on the output: the work DuckDB does too.
                       "stages_without_tests": {st["name"]: (st["duration_ms"] - st.get("tests_ms", 0)) / 1000 for st in record["stages"]}}

    s, m, _ = timed([BINARY, "publish", "--store", store, "--run", record["run_id"], "--json"])
    out["publish"] = {"seconds": s, "peak_mib": m}
    out["end_to_end_seconds"] = out["intake"]["seconds"] + out["pipeline"]["seconds"] + out["publish"]["seconds"]
    out["duckdb"] = duckdb_stages(store, record)
    return out


def duckdb_stages(store, record):
    """The same stage SQL, in the same order, over the same staged Parquet files."""
    try:
        import duckdb
    except ImportError:
        return None
    con = duckdb.connect()
    # svna's SQL uses to_char (DataFusion/PostgreSQL); DuckDB calls it strftime.
    con.execute("CREATE MACRO to_char(d, f) AS strftime(d, f)")
    for source in {i["source"]: i for i in record["inputs"]}.values():
        paths = [str(store / f["path"]) for f in source["files"]]
        con.execute(f"CREATE VIEW {source['source']} AS SELECT * FROM read_parquet({paths!r})")
    timings = {}
    for stage in record["stages"]:
        sql = Path(stage["sql_file"]).read_text()
        if SVNA_FUNCTION in sql:
            # DuckDB lacks svna's own aggregate: later stages read svna's output of this one,
            # and the stage is left out of the side-by-side (None).
            con.execute(f"CREATE VIEW {stage['name']} AS SELECT * FROM read_parquet('{store / stage['output']['path']}')")
            timings[stage["name"]] = None
            continue
        # DataFusion's ordered aggregate `first_value(x ORDER BY y)` is DuckDB's `first(...)`.
        sql = sql.replace("first_value(", "first(")
        started = time.perf_counter()
        con.execute(f"CREATE TABLE {stage['name']} AS {sql}")
        timings[stage["name"]] = time.perf_counter() - started
        # Same rows, or the side-by-side compares different work.
        rows = con.execute(f"SELECT COUNT(*) FROM {stage['name']}").fetchone()[0]
        if rows != stage["output"]["rows"]:
            sys.exit(f"stage {stage['name']}: DuckDB made {rows} rows, svna {stage['output']['rows']}")
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="append", type=float, default=[])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit")
    args = parser.parse_args()
    if not BINARY.exists():
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    for scale in args.scale or [1.0]:
        runs = []
        for _ in range(args.repeat):
            work = Path(tempfile.mkdtemp(prefix="svna-bench-"))
            try:
                subprocess.run([BINARY, "keygen", "--out", work / "key"], check=True, capture_output=True)
                runs.append(one_run(scale, args.memory_limit, work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
        report(scale, runs, args.memory_limit)


def report(scale, runs, memory_limit):
    med = lambda f: median([f(r) for r in runs])
    print(f"\n## scale {scale:g}: {runs[0]['synth']['rows']:,} rows, {runs[0]['intake']['csv_mb']:.0f} MB of CSV, median of {len(runs)} runs"
          + (f", memory limit {memory_limit}" if memory_limit else ""))
    print(f"| step | seconds | throughput | peak RSS MiB |\n|---|---|---|---|")
    print(f"| synth | {med(lambda r: r['synth']['seconds']):.2f} | {med(lambda r: r['synth']['rows'] / r['synth']['seconds']) / 1e6:.2f} M rows/s | {med(lambda r: r['synth']['peak_mib']):.0f} |")
    print(f"| pseudonymise (2 token columns) | {med(lambda r: r['pseudonymise']['seconds']):.2f} | {med(lambda r: r['pseudonymise']['rows_per_s']) / 1e6:.2f} M rows/s | {med(lambda r: r['pseudonymise']['peak_mib']):.0f} |")
    print(f"| validate + intake to Parquet | {med(lambda r: r['intake']['seconds']):.2f} | {med(lambda r: r['intake']['mb_per_s']):.0f} MB/s, {med(lambda r: r['intake']['rows_per_s']) / 1e6:.2f} M rows/s | {med(lambda r: r['intake']['peak_mib']):.0f} |")
    print(f"| pipeline (all stages) | {med(lambda r: r['pipeline']['seconds']):.2f} | | {med(lambda r: r['pipeline']['peak_mib']):.0f} |")
    print(f"| disclosure control + publish | {med(lambda r: r['publish']['seconds']):.2f} | | {med(lambda r: r['publish']['peak_mib']):.0f} |")
    print(f"| end to end (intake + pipeline + publish) | {med(lambda r: r['end_to_end_seconds']):.2f} | | |")
    if runs[0]["duckdb"]:
        print("\n| stage | svna s | svna s without tests | DuckDB s | svna/DuckDB | without tests |\n|---|---|---|---|---|---|")
        with_tests = lambda r: r["pipeline"]["stages"]
        stage_only = lambda r: r["pipeline"].get("stages_without_tests", r["pipeline"]["stages"])
        compared = [st for st in runs[0]["pipeline"]["stages"] if runs[0]["duckdb"].get(st) is not None]
        for stage in runs[0]["pipeline"]["stages"]:
            a = med(lambda r: with_tests(r)[stage])
            b = med(lambda r: stage_only(r)[stage])
            if stage not in compared:
                print(f"| {stage} | {a:.3f} | {b:.3f} | (svna's own function) | | |")
                continue
            d = med(lambda r: r["duckdb"][stage])
            print(f"| {stage} | {a:.3f} | {b:.3f} | {d:.3f} | {a / d:.2f} | {b / d:.2f} |")
        a = med(lambda r: sum(with_tests(r)[st] for st in compared))
        b = med(lambda r: sum(stage_only(r)[st] for st in compared))
        d = med(lambda r: sum(r["duckdb"][st] for st in compared))
        print(f"| all {len(compared)} stages DuckDB can run | {a:.3f} | {b:.3f} | {d:.3f} | {a / d:.2f} | {b / d:.2f} |")
    (ROOT / "bench" / f"results-{scale:g}.json").write_text(json.dumps(runs, indent=2, default=str))


if __name__ == "__main__":
    main()
