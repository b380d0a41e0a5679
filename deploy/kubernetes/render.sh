#!/usr/bin/env bash
# Renders the manifests of this folder (one JSON file per object) from manifests.ts: tsc
# (strict) compiles it into a temporary folder, node runs it. Run it after editing
# manifests.ts, config/example.toml or the alert mixin (alerts/*.libsonnet), and commit the
# result; a test (packaging.kubernetes) fails while a committed file is stale.
#   deploy/kubernetes/render.sh              rewrite deploy/kubernetes/*.json
#   deploy/kubernetes/render.sh OUT_DIR      write the files into OUT_DIR instead
#   deploy/kubernetes/render.sh --typecheck  only type-check manifests.ts (tsc --noEmit)
# Needs node, jsonnet and the npm packages pinned in tests/alerting/package.json
# (scripts/install-deps.sh test installs them; so does `npm ci` in tests/alerting).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
modules="$repo/tests/alerting/node_modules"

for tool in node jsonnet; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is not installed (scripts/install-deps.sh test installs it)" >&2
    exit 1
  fi
done
for package in typescript/bin/tsc kubernetes-models/package.json \
               @kubernetes-models/prometheus-operator/package.json; do
  if [ ! -e "$modules/$package" ]; then
    echo "$modules/$package is missing: run scripts/install-deps.sh test (or npm ci in tests/alerting)" >&2
    exit 1
  fi
done

typecheck=false
out="$here"
case "${1:-}" in
  --typecheck) typecheck=true ;;
  "") ;;
  *) mkdir -p "$1" && out="$(cd "$1" && pwd)" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# No tsconfig.json in this folder: `kubectl apply -f deploy/kubernetes/` would read it as a
# manifest. The packages resolve from tests/alerting/node_modules: for tsc through `paths`,
# for node through a node_modules link next to the compiled file.
cat >"$work/tsconfig.json" <<JSON
{
  "compilerOptions": {
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "noImplicitOverride": true,
    "noEmit": $typecheck,
    "target": "es2022",
    "lib": ["es2022"],
    "module": "esnext",
    "moduleResolution": "bundler",
    "types": [],
    "paths": { "*": ["$modules/*"] },
    "rootDir": "$here",
    "outDir": "$work/out"
  },
  "files": ["$here/manifests.ts", "$here/node.d.ts"]
}
JSON
node "$modules/typescript/bin/tsc" -p "$work/tsconfig.json"
$typecheck && exit 0

ln -s "$modules" "$work/out/node_modules"
echo '{"type": "module"}' >"$work/out/package.json"
node "$work/out/manifests.js" "$repo" "$out"
