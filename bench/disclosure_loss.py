#!/usr/bin/env python3
"""Information loss of a release: per table, cells withheld and the share of the table's
count they hold, from the internal audit (runs/<run>/disclosure_audit-<release>.json, which
holds true values and stays in the runs zone). Usage: disclosure_loss.py STORE [RELEASE]"""
import glob, json, os, sys

store = sys.argv[1]
release = sys.argv[2] if len(sys.argv) > 2 else None
manifests = sorted(glob.glob(os.path.join(store, "published", release or "*", "manifest.json")))
for path in manifests:
    m = json.load(open(path))
    audit = json.load(open(os.path.join(store, "runs", m["run_id"], f"disclosure_audit-{m['release']}.json")))
    per = {}
    for policy, report in audit:
        for c in report["cells"]:
            for t in c["tables"]:
                name = t.rsplit(".", 1)[0]
                row = per.setdefault(name, [0, 0, 0, 0])
                v = c.get("value") or 0
                row[0] += 1
                row[2] += v
                if c.get("published") is None:
                    row[1] += 1
                    row[3] += v
    print(f"release {m['release']}: left out {[l['table'] for l in m.get('left_out', [])]}")
    print(f"{'table':50} {'cells':>7} {'withheld':>9} {'count share':>12}")
    tc = tw = tv = tx = 0
    for name, (cells, withheld, total, hidden) in sorted(per.items()):
        share = hidden / total if total else 0.0
        print(f"{name:50} {cells:7} {withheld:9} {share:11.1%}")
        tc += cells; tw += withheld; tv += total; tx += hidden
    print(f"{'all (distinct quantities)':50} {tc:7} {tw:9} {(tx / tv if tv else 0):11.1%}")
