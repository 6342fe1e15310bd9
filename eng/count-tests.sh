#!/usr/bin/env bash
# Sums the .trx files under $1 and prints "N passed, N failed, N skipped"; exits 1 on a failure or no test.
set -euo pipefail
dir="${1:?results folder}"
python3 - "$dir" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    root = ET.parse(f).getroot()
    c = root.find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    # xunit's skips are results with outcome NotExecuted; the summary counters leave them out.
    skipped += sum(1 for r in root.iterfind("t:Results/t:UnitTestResult", ns) if r.get("outcome") == "NotExecuted")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
