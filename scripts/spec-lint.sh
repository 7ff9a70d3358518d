#!/usr/bin/env bash
# The spec's outside readers, on openapi/openapi.json (a test keeps it equal to what the code
# generates). Each must accept it; exits non-zero at the first that does not:
#   1. openapi-spec-validator (PyPI, in a virtualenv under target/ made the first time);
#   2. Redocly CLI's recommended rules, zero errors and zero warnings (what is set aside, with the
#      reason, is in tests/spec/.redocly.lint-ignore.yaml; the config is tests/spec/redocly.yaml);
#   3. a TypeScript client: openapi-typescript generates the types, tsc checks tests/spec/client.ts
#      against them.
# The npm tools are pinned in tests/spec/package.json and its lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

VALIDATOR_VERSION="0.9.0"
VENV="$PWD/target/spec-venv"
SPEC="$PWD/openapi/openapi.json"

command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

mkdir -p target
(
  flock 9
  if ! "$VENV/bin/openapi-spec-validator" --version 2>/dev/null | grep -q "$VALIDATOR_VERSION"; then
    echo ">> installing openapi-spec-validator $VALIDATOR_VERSION into $VENV" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      "openapi-spec-validator==$VALIDATOR_VERSION"
  fi
) 9>target/spec-venv.lock

echo ">> openapi-spec-validator $VALIDATOR_VERSION"
"$VENV/bin/openapi-spec-validator" "$SPEC"

cd tests/spec
npm ci --no-audit --no-fund --silent

echo ">> redocly lint (recommended rules)"
npx --no-install redocly lint --config redocly.yaml --format=stylish "$SPEC" 2>&1 | grep -v "[║╔╚]" || true
# stylish output is for people; the totals decide (a warning fails the run too)
totals=$(npx --no-install redocly lint --config redocly.yaml --format=json "$SPEC" 2>/dev/null \
  | python3 -c 'import json, sys; t = json.load(sys.stdin)["totals"]; print(t["errors"], t["warnings"])')
read -r errors warnings <<<"$totals"
if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
  echo "redocly: $errors errors, $warnings warnings" >&2
  exit 1
fi

echo ">> openapi-typescript + tsc"
rm -rf gen
# (it repeats Redocly's warnings without the ignore file: its output only when it fails)
npx --no-install openapi-typescript "$SPEC" -o gen/openapi.ts --redocly redocly.yaml \
  >../../target/openapi-typescript.log 2>&1 || { cat ../../target/openapi-typescript.log >&2; exit 1; }
npx --no-install tsc -p tsconfig.json
echo ">> the spec passes openapi-spec-validator, redocly and tsc"
