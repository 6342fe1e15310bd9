#!/usr/bin/env bash
# Every test, with its own set-up: installs what the tests need on a Debian machine (Chromium for the browser test),
# restores, builds, runs the whole solution, then prints "N passed, N failed, N skipped" last.
# Extra arguments go to `dotnet test` (e.g. --filter). Exit code: non-zero on a failed, missing or uncounted test.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The browser test drives Debian's Chromium (a test tool's own browser download cannot work offline).
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "test: installing chromium (apt-get)"
  ($sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null) \
    || { echo "test: could not install Debian's chromium package; run 'apt-get install -y chromium' as root" >&2; exit 1; }
fi

dotnet restore Sdk.sln
dotnet build Sdk.sln -c Release --no-restore

results="$(pwd)/artifacts/test-results"
rm -rf "$results"
status=0
dotnet test Sdk.sln -c Release --no-build --logger "trx" --results-directory "$results" "$@" || status=$?
bash eng/count-tests.sh "$results" || status=$?
exit $status
