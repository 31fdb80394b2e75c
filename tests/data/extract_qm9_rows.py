"""Copy a few rows of qm9pack's CSV files into tests/data/qm9_rows.csv (the loader's oracle).

The rows are those of four molecules of the embedded subset, one from each end and two from
the middle files, verbatim (qm9pack 1.0.3, MIT; QM9 data CC0). Needs ``pip install qm9pack``.

    python tests/data/extract_qm9_rows.py
"""

import importlib.util
from pathlib import Path

INDICES = {25, 50699, 90801, 133883}
FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")


def main() -> None:
    spec = importlib.util.find_spec("qm9pack")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    header, rows = None, []
    for name in FILES:
        with open(folder / name, encoding="utf-8") as handle:
            header = handle.readline()
            rows += [line for line in handle if int(line.split(",", 2)[1]) in INDICES]
    out = Path(__file__).with_name("qm9_rows.csv")
    out.write_text(header + "".join(rows), encoding="utf-8")
    print(f"wrote {out}: {len(rows)} rows")


if __name__ == "__main__":
    main()
