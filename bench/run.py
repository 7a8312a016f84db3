"""Run every benchmark under bench/ (files named bench_*.py), then print bench/results.json.

    make bench            # all of them
    make bench ONLY=elections

Each script measures its own figures beside a floor taken in the same run and merges them into
``bench/results.json`` under its own key. Benchmarks never run inside ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = os.environ.get("ONLY", "")
    scripts = sorted(p for p in HERE.glob("bench_*.py") if only in p.stem)
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failed.append(script.name)
    results = HERE / "results.json"
    if results.exists():
        print(f"\n== {results.relative_to(HERE.parent)}")
        for key, figures in json.loads(results.read_text()).items():
            print(f"{key}:")
            for name, value in figures.items():
                if isinstance(value, dict) and "ratio" in value:
                    met = value.get("met")
                    mark = "" if met is None else ("  target met" if met else "  TARGET MISSED")
                    print(f"  {name:<14} {value['seconds']:>8.2f} s  floor "
                          f"{value['floor_seconds']:>8.2f} s  ratio {value['ratio']:.2f}{mark}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
