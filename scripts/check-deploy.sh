#!/usr/bin/env bash
# Checks the files under deploy/ an operator installs (docs/operations.md, "Metrics and alerts"):
# - deploy/prometheus/liveroom-rules.yml: `promtool check rules`, and its unit tests
#   (liveroom-rules.test.yml: each alert fires on synthetic series, and not on the others);
# - deploy/grafana/liveroom.json: valid JSON, and every panel's query parses as PromQL (promtool
#   checks them as recording rules of a scratch file);
# - deploy/k8s/*.yaml: kubernetes-validate (pinned, in target/pyenv) against the schemas of
#   Kubernetes $K8S_VERSION, strict (an unknown field fails); every LIVEROOM_ name they set is a
#   setting of the README's table; terminationGracePeriodSeconds covers LIVEROOM_SHUTDOWN_DRAIN_MS
#   plus the edge's 10 s for in-flight answers.
# That the metric names they use exist is tests/e2e/prometheus.rs's job (a real Prometheus).
# Needs promtool (Debian's `prometheus`) and python3 with venv; scripts/test.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

K8S_VERSION="1.31.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"
VENV="$PWD/target/pyenv"
command -v promtool >/dev/null 2>&1 || apt_install prometheus
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv

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

echo ">> deploy/k8s: kubernetes-validate $KUBERNETES_VALIDATE_VERSION, Kubernetes $K8S_VERSION, strict"
# The virtualenv is shared with scripts/fuzz.sh and the SDK test: change it under its lock.
mkdir -p target
(
  flock 9
  if ! "$VENV/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
    echo ">> installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $VENV" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  fi
) 9>target/pyenv.lock
"$VENV/bin/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet deploy/k8s/*.yaml

echo ">> deploy/k8s: settings are the README's, the grace covers the drain"
"$VENV/bin/python" - README.md deploy/k8s/*.yaml <<'PY'
import re, sys, yaml
readme = open(sys.argv[1]).read()
known = set(re.findall(r"`(LIVEROOM_[A-Z0-9_]+)`", readme.split("## Settings", 1)[1].split("\n## ", 1)[0]))
docs = [d for f in sys.argv[2:] for d in yaml.safe_load_all(open(f)) if d]
settings = {}
for d in docs:
    if d["kind"] == "ConfigMap":
        settings.update(d["data"])
set_names = set(settings)
for d in docs:
    if d["kind"] == "Deployment":
        spec = d["spec"]["template"]["spec"]
        for c in spec["containers"]:
            set_names |= {e["name"] for e in c.get("env", [])}
        grace = spec["terminationGracePeriodSeconds"]
unknown = sorted(n for n in set_names if n.startswith("LIVEROOM_") and n not in known)
assert not unknown, f"not settings of the README's table: {unknown}"
drain = int(settings.get("LIVEROOM_SHUTDOWN_DRAIN_MS", "0")) / 1000
assert grace >= drain + 10 + 1, f"terminationGracePeriodSeconds {grace} < drain {drain} s + 10 s + margin"
print(f"{len(set_names)} settings set; grace {grace} s for a drain of {drain} s")
PY
