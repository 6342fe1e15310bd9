#!/usr/bin/env bash
# Records every public symbol of the shipped packages in their PublicAPI.Unshipped.txt (the analyzer's own code fix,
# run by dotnet format). Run it after a deliberate public API change, and review the diff: it is the API review.
set -euo pipefail
cd "$(dirname "$0")/.."
for project in $(grep -l '<IsPackable>true</IsPackable>' src/*/*.csproj); do
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 RS0037 --severity info
done
