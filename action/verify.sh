#!/usr/bin/env bash
# The GitHub Action's step (action.yml): check that the plugin is loaded, run
# `yarn sigstore verify --format sarif`, then annotate, summarize and decide
# from that log (report.cjs). Fails the job unless both passed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sarif="${SIGSTORE_SARIF_FILE:-sigstore.sarif}"
html="${SIGSTORE_HTML_FILE:-}"

# `yarn plugin runtime` is built into Yarn: no package.json script or
# dependency bin can answer in its place. Without the plugin, `yarn sigstore`
# would run a script or bin named "sigstore", which can print anything.
if ! yarn plugin runtime --json | grep -xF '{"name":"@yarnpkg/plugin-sigstore","builtin":false}' > /dev/null; then
  echo '::error title=sigstore::the yarn-plugin-sigstore plugin is not loaded (not in .yarnrc.yml, or YARN_RC_FILENAME names another rc file): nothing was verified'
  exit 1
fi

if [ -n "$html" ]; then
  yarn sigstore verify --format sarif --html "$html" > "$sarif"
else
  yarn sigstore verify --format sarif > "$sarif"
fi
verified=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then printf 'sarif-file=%s\nhtml-file=%s\n' "$sarif" "$html" >> "$GITHUB_OUTPUT"; fi

node "$here/report.cjs" "$sarif" "${SIGSTORE_WORKING_DIRECTORY:-.}"
reported=$?
[ "$verified" -eq 0 ] && [ "$reported" -eq 0 ]
