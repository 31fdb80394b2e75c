"""Finished runs on disk: one JSON file per run, ``results.csv`` rebuilt from them.

``DIR/runs/<key>.json`` holds a run's spec, its measurements and its learning curve; it is
written atomically when the run finishes, so an interrupted benchmark loses at most the run
in progress, and a rerun finds the finished ones by key and reuses them as they are.

``DIR/results.csv`` has one row per run (every run in ``DIR/runs``), columns
:data:`COLUMNS`: MAEs in meV (energy, per molecule) and meV/Å (force components); empty
``forces_mae`` where the set has no forces; ``train_s`` in seconds.
"""

import csv
import dataclasses
import json
import os
import platform
from pathlib import Path

import torch

from equibasis.benchmark.spec import RunSpec, parse_basis, parse_model
from equibasis.benchmark.train import RunResult

__all__ = ["COLUMNS", "ResultStore"]

COLUMNS = (
    "dataset", "model", "basis", "seed", "n_train", "energy_mae", "forces_mae", "params",
    "train_s", "radial", "num_radial", "angular", "baseline_energy_mae", "epoch_s", "epochs",
    "n_val", "n_test", "batch_size", "lr", "hidden", "cutoff", "force_weight", "device",
    "threads", "torch", "equibasis", "key",
)  # fmt: skip


def _angular(model: str) -> str:
    base, variant = parse_model(model)
    return {
        "schnet": "none",
        "dimenet++": f"angle ({variant})",
        "spherenet": f"torsion ({variant})",
        "tfn": f"lmax {variant}",
    }[base]


class ResultStore:
    """The runs finished under one output folder.

    Args:
        out: The benchmark's output folder (created when missing).
    """

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.runs = self.out / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)

    def path(self, spec: RunSpec) -> Path:
        """The JSON file of ``spec``."""
        return self.runs / f"{spec.key}.json"

    def has(self, spec: RunSpec) -> bool:
        """Whether ``spec`` has finished (its file exists and holds the same spec)."""
        record = self.load(spec)
        return record is not None

    def load(self, spec: RunSpec) -> dict | None:
        """The stored record of ``spec``, or None."""
        path = self.path(spec)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError:  # a torn file (a crash mid-write): run again
            return None
        return record if record.get("spec") == dataclasses.asdict(spec) else None

    def save(self, spec: RunSpec, result: RunResult) -> dict:
        """Write the record of a finished run (atomically) and return its CSV row."""
        import equibasis

        family, k = parse_basis(spec.basis)
        row = {
            **dataclasses.asdict(spec),
            "energy_mae": result.energy_mae,
            "forces_mae": result.forces_mae,
            "baseline_energy_mae": result.baseline_energy_mae,
            "params": result.params,
            "train_s": result.train_s,
            "epoch_s": result.epoch_s,
            "radial": family,
            "num_radial": k,
            "angular": _angular(spec.model),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "equibasis": equibasis.__version__,
            "key": spec.key,
        }
        record = {
            "spec": dataclasses.asdict(spec),
            "row": row,
            "curve": result.curve,
            "machine": f"{platform.system()} {platform.machine()}",
        }
        tmp = self.path(spec).with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, self.path(spec))
        return row

    def records(self) -> list[dict]:
        """Every finished run's record, ordered by dataset, model, basis, n_train, seed."""
        records = []
        for path in self.runs.glob("*.json"):
            try:
                records.append(json.loads(path.read_text()))
            except json.JSONDecodeError:
                continue

        def order(record: dict) -> tuple:
            row = record["row"]
            return (row["dataset"], row["model"], row["basis"], row["n_train"], row["seed"])

        return sorted(records, key=order)

    def write_csv(self) -> Path:
        """Rebuild ``results.csv`` from the stored runs; returns its path."""
        path = self.out / "results.csv"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for record in self.records():
                row = dict(record["row"])
                row["forces_mae"] = "" if row["forces_mae"] is None else row["forces_mae"]
                writer.writerow(row)
        os.replace(tmp, path)
        return path
