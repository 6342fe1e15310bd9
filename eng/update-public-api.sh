#!/usr/bin/env bash
# Records the public symbols the build reports as undeclared (RS0016) in their project's PublicAPI.Unshipped.txt, and
# drops declared ones that no longer exist (RS0017). Run it after a deliberate public API change and review the diff:
# it is the API review. The analyzer's message carries the exact line the file needs.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
dotnet build Sdk.sln -c Release -p:TreatWarningsAsErrors=false -p:WarningsAsErrors=RS0016%3BRS0017 -m:1 > "$log" 2>&1 || true
python3 - "$log" <<'PY'
import re, sys, pathlib
added, removed = {}, {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"(RS0016|RS0017): Symbol '(.+?)' (?:is not part of the declared public API|is part of the declared API, but is either not public or could not be found).*\[(.+?\.csproj)", line)
    if not m:
        continue
    code, symbol, project = m.groups()
    folder = pathlib.Path(project.split("::")[0]).parent
    (added if code == "RS0016" else removed).setdefault(folder, set()).add(symbol)
for folder in set(added) | set(removed):
    path = folder / "PublicAPI.Unshipped.txt"
    lines = [l for l in path.read_text().splitlines() if l and l != "#nullable enable"]
    lines = sorted((set(lines) | added.get(folder, set())) - removed.get(folder, set()))
    path.write_text("#nullable enable\n" + "".join(l + "\n" for l in lines))
    print(f"{path}: +{len(added.get(folder, ()))} -{len(removed.get(folder, ()))}")
PY
rm -f "$log"
