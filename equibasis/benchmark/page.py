"""The benchmark's Markdown page and figures, from the stored runs only.

``DIR/benchmark.md``: per data set, the composition baseline and one table row per
configuration (model, basis, training-set size) with the mean ± sample standard deviation over
seeds of the test MAEs, the parameter count and the training time; then the figures
``learning_curves.png``, ``mae_vs_num_radial.png`` and ``mae_vs_cost.png``.
"""

import statistics
from collections import defaultdict
from pathlib import Path

from equibasis.benchmark.findings import findings
from equibasis.benchmarking import format_table, machine_description

__all__ = ["group_runs", "write_page"]

_DATASET_TITLES = {
    "qm9": "QM9, embedded subset (4,000 molecules; U0, B3LYP)",
    "qm9-full": "QM9 (qm9pack, 130,831 molecules; U0, B3LYP)",
    "ethanol": "Ethanol MD (GFN2-xTB, 500 K, 1,000 frames)",
}


_FINDINGS_INTRO = (
    "Written from the table above by `equibasis.benchmark.findings`: two configurations are "
    "*apart* when their means differ by more than twice the standard error of the difference "
    "over seeds, *within seed noise* otherwise (a rough screen with three seeds)."
)


def _stats(values: list[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def _pm(values: list[float | None], digits: int = 1) -> str:
    values = [v for v in values if v is not None and v != ""]
    if not values:
        return "–"
    mean, std = _stats([float(v) for v in values])
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def group_runs(records: list[dict]) -> dict[tuple[str, str, str, int], list[dict]]:
    """Records grouped by configuration ``(dataset, model, basis, n_train)`` (seeds pooled)."""
    groups: dict[tuple[str, str, str, int], list[dict]] = defaultdict(list)
    for record in records:
        row = record["row"]
        groups[(row["dataset"], row["model"], row["basis"], int(row["n_train"]))].append(record)
    return dict(groups)


def _table(groups: dict, dataset: str) -> str:
    header = [
        "model", "basis", "angular", "n_train", "seeds", "energy MAE (meV)",
        "forces MAE (meV/Å)", "params", "train (s)", "s / epoch",
    ]  # fmt: skip
    rows = []
    for (ds, model, basis, n_train), runs in groups.items():
        if ds != dataset:
            continue
        r = [run["row"] for run in runs]
        rows.append([
            model, basis, r[0]["angular"], n_train, len(r),
            _pm([x["energy_mae"] for x in r]), _pm([x["forces_mae"] for x in r]),
            r[0]["params"], _pm([x["train_s"] for x in r], 1), _pm([x["epoch_s"] for x in r], 2),
        ])  # fmt: skip
    return format_table(header, rows)


def _figures(groups: dict, out: Path) -> list[str]:
    from equibasis._optional import require

    plt = require("matplotlib.pyplot", "benchmark", "the benchmark's figures")

    datasets = sorted({key[0] for key in groups})
    names = []

    # learning curves: validation energy MAE per epoch, mean over seeds
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for (d, model, basis, n_train), runs in groups.items():
            if d != ds:
                continue
            curves = [[c["val_energy_mae"] for c in run["curve"]] for run in runs]
            length = min(len(c) for c in curves)
            mean = [statistics.fmean(c[e] for c in curves) for e in range(length)]
            ax.plot(range(1, length + 1), mean, label=f"{model} {basis} n={n_train}")
        ax.set(title=ds, xlabel="epoch", ylabel="validation energy MAE (meV)", yscale="log")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=110)
    plt.close(fig)
    names.append("learning_curves.png")

    # MAE against the number of radial functions, one line per (dataset, model, family)
    lines: dict[tuple[str, str, str], list[tuple[int, list[float]]]] = defaultdict(list)
    for (ds, model, _, n_train), runs in groups.items():
        row = runs[0]["row"]
        lines[(ds, model, row["radial"], n_train)].append(
            (int(row["num_radial"]), [r["row"]["energy_mae"] for r in runs])
        )
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for (d, model, family, n_train), points in lines.items():
            if d != ds or len(points) < 2:
                continue
            points.sort()
            stats = [_stats(v) for _, v in points]
            ax.errorbar(
                [k for k, _ in points], [m for m, _ in stats], yerr=[s or 0 for _, s in stats],
                marker="o", capsize=3, label=f"{model} {family} n={n_train}",
            )  # fmt: skip
        ax.set(title=ds, xlabel="radial functions", ylabel="test energy MAE (meV)", xscale="log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:  # e.g. --quick: one size per family
            ax.text(0.5, 0.5, "no family run with several sizes", ha="center",
                    transform=ax.transAxes)  # fmt: skip
    fig.tight_layout()
    fig.savefig(out / "mae_vs_num_radial.png", dpi=110)
    plt.close(fig)
    names.append("mae_vs_num_radial.png")

    # MAE against training cost; forces in a second row where a set has them
    with_forces = [
        ds
        for ds in datasets
        if any(
            r["row"]["forces_mae"] is not None for k, v in groups.items() if k[0] == ds for r in v
        )
    ]
    rows = 2 if with_forces else 1
    fig, axes = plt.subplots(
        rows, len(datasets), figsize=(6 * len(datasets), 4 * rows), squeeze=False
    )
    for col, ds in enumerate(datasets):
        for (d, model, basis, _), runs in groups.items():
            if d != ds:
                continue
            t = statistics.fmean(r["row"]["train_s"] for r in runs)
            for row_i, metric in enumerate(("energy_mae", "forces_mae")[:rows]):
                values = [r["row"][metric] for r in runs if r["row"][metric] is not None]
                if not values:
                    continue
                mean, std = _stats(values)
                ax = axes[row_i][col]
                ax.errorbar([t], [mean], yerr=[std or 0], marker="o", capsize=3)
                ax.annotate(f"{model} {basis}", (t, mean), fontsize=6)
        axes[0][col].set(title=ds, xlabel="training time (s)", ylabel="test energy MAE (meV)")
        if rows == 2:
            axes[1][col].set(xlabel="training time (s)", ylabel="test forces MAE (meV/Å)")
    fig.tight_layout()
    fig.savefig(out / "mae_vs_cost.png", dpi=110)
    plt.close(fig)
    names.append("mae_vs_cost.png")
    return names


def write_page(out: str | Path, records: list[dict], command: str, elapsed_s: float) -> Path:
    """Write ``benchmark.md`` and its figures into ``out`` from the run ``records``.

    Args:
        out: Output folder.
        records: Stored runs (:meth:`ResultStore.records`).
        command: The command line that regenerates the page (printed at the top).
        elapsed_s: Wall-clock time of this invocation, in seconds.

    Returns:
        The path of ``benchmark.md``.
    """
    import equibasis

    out = Path(out)
    groups = group_runs(records)
    threads = ", ".join(sorted({str(r["row"]["threads"]) for r in records})) or "–"
    lines = [
        "# Which basis makes the better model: measured",
        "",
        f"Regenerate: `{command}` (finished runs in `runs/` are reused).",
        "",
        f"equibasis {equibasis.__version__}; {machine_description()} (training threads: "
        f"{threads}); {len(records)} runs in `results.csv`, "
        f"{sum(float(r['row']['train_s']) for r in records) / 60:.0f} min of training in all "
        f"(this invocation: {elapsed_s:.0f} s; finished runs are reused).",
        "",
        "Test-set mean absolute errors, mean ± sample standard deviation over seeds: energies "
        "in meV per molecule, forces in meV/Å per component. Energies are learnt relative to "
        "a per-element composition fit (least squares on every molecule outside the test "
        "set); that fit alone is the baseline. "
        "Training time in seconds (validation included). Same optimiser, schedule, epochs, "
        "width and seeds within a data set; only the basis (or model) changes.",
    ]
    for ds in sorted({key[0] for key in groups}):
        runs = [r["row"] for key, v in groups.items() if key[0] == ds for r in v]
        by_seed = {(r["seed"], r["n_test"]): r["baseline_energy_mae"] for r in runs}
        lines += [
            "",
            f"## {_DATASET_TITLES.get(ds, ds)}",
            "",
            f"Composition baseline (energy from the element counts only): "
            f"{_pm(list(by_seed.values()))} meV over {len(by_seed)} test split(s).",
            "",
            _table(groups, ds),
        ]
    summary = findings([r["row"] for r in records], _DATASET_TITLES)
    if summary:
        lines += ["", "## What the numbers say", "", _FINDINGS_INTRO, "", summary]
    if groups:
        lines += ["", "## Figures", ""]
        for name in _figures(groups, out):
            lines += [f"![{name[:-4].replace('_', ' ')}]({name})", ""]
    path = out / "benchmark.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path
