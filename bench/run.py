"""`make bench`: run the benchmarks, print their JSON and save it under bench/results/."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402
import scale  # noqa: E402
import workflow  # noqa: E402

BENCHMARKS = {"workflow": workflow.run, "scale": scale.run, "quality": quality.run}


def main(names: list[str]) -> None:
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    for name in names or list(BENCHMARKS):
        result = BENCHMARKS[name]()
        text = json.dumps(result, indent=2)
        print(text)
        (out_dir / f"{name}.json").write_text(text + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
