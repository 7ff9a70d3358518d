#!/usr/bin/env bash
# Checks the files under deploy/ an operator installs (docs/operations.md, "Metrics and alerts"):
# - deploy/prometheus/liveroom-rules.yml: `promtool check rules`, and its unit tests
#   (liveroom-rules.test.yml: each alert fires on synthetic series, and not on the others);
# - deploy/grafana/liveroom.json: valid JSON, and every panel's query parses as PromQL (promtool
#   checks them as recording rules of a scratch file);
# That the metric names they use exist is tests/e2e/prometheus.rs's job (a real Prometheus).
# Needs promtool (Debian's `prometheus`); scripts/test.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo ">> promtool check rules deploy/prometheus/liveroom-rules.yml"
promtool check rules deploy/prometheus/liveroom-rules.yml
echo ">> promtool test rules deploy/prometheus/liveroom-rules.test.yml"
promtool test rules deploy/prometheus/liveroom-rules.test.yml

echo ">> deploy/grafana/liveroom.json: every query parses"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 - deploy/grafana/liveroom.json "$scratch/dashboard-rules.yml" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
assert exprs, "the dashboard has no query"
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        out.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
print(f"{len(exprs)} queries in {len(dashboard['panels'])} panels")
PY
promtool check rules "$scratch/dashboard-rules.yml"
