r"""What the benchmark's numbers say, written from the numbers only.

:func:`findings` reads the rows of ``results.csv`` (or the stored runs) and writes, per data set,
the comparisons the grid was built for (:func:`~equibasis.benchmark.spec.default_grid`): the
radial families at equal size, the number of Gaussians, the angular part, the training-set
size, and the configurations that no other beats at equal or lower cost. Every sentence is
derived from the table beside it; nothing is hard-coded.

Seed noise: two configurations are called *apart* when their mean test errors differ by more
than twice the standard error of that difference,
:math:`|\bar a - \bar b| > 2\sqrt{s_a^2/n_a + s_b^2/n_b}` (seeds as samples), and *within seed
noise* otherwise. With three seeds this is a rough screen, not a significance test.
"""

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from equibasis.benchmarking import format_table

__all__ = ["Config", "findings", "summarise"]

_REFERENCE = "schnet"
_REFERENCE_BASIS = "gaussian-20"
_ANGULAR_BASIS = "bessel-20"


@dataclass(frozen=True)
class Config:
    """One configuration of one data set, its seeds pooled (MAEs in meV, meV/Å; time in s)."""

    dataset: str
    model: str
    basis: str
    n_train: int
    angular: str
    energy: tuple[float, ...]
    forces: tuple[float, ...]
    train_s: tuple[float, ...]
    params: int

    @property
    def seeds(self) -> int:
        """Number of runs pooled."""
        return len(self.energy)

    def mean(self, metric: str) -> float:
        """Mean over seeds of ``"energy"``, ``"forces"`` or ``"train_s"``."""
        values = getattr(self, metric)
        return statistics.fmean(values) if values else math.nan

    def std(self, metric: str) -> float:
        """Sample standard deviation over seeds (0 for one seed)."""
        values = getattr(self, metric)
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def label(self) -> str:
        """``model / basis``."""
        return f"{self.model} / {self.basis}"


def _float(value: object) -> float | None:
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]


def summarise(rows: Iterable[dict]) -> list[Config]:
    """Pool the rows (CSV strings or numbers) by (dataset, model, basis, n_train)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], row["model"], row["basis"], int(row["n_train"]))].append(row)
    configs = []
    for (dataset, model, basis, n_train), runs in sorted(groups.items()):
        forces = [_float(r.get("forces_mae")) for r in runs]
        configs.append(
            Config(
                dataset, model, basis, n_train, str(runs[0].get("angular", "")),
                tuple(float(r["energy_mae"]) for r in runs),
                tuple(f for f in forces if f is not None),
                tuple(float(r["train_s"]) for r in runs),
                int(float(runs[0]["params"])),
            )
        )  # fmt: skip
    return configs


def _apart(a: Config, b: Config, metric: str) -> bool:
    """Whether the means of ``metric`` differ by more than 2 standard errors of the difference."""
    se = math.sqrt(a.std(metric) ** 2 / a.seeds + b.std(metric) ** 2 / b.seeds)
    return abs(a.mean(metric) - b.mean(metric)) > 2.0 * se


def _pm(config: Config, metric: str, digits: int = 1) -> str:
    if not getattr(config, metric):
        return "–"
    return f"{config.mean(metric):.{digits}f} ± {config.std(metric):.{digits}f}"


def _table(header: list[str], leading: list[list], configs: list[Config]) -> str:
    """``leading`` columns, then the MAEs (forces only where measured), time and size."""
    forces = any(c.forces for c in configs)
    header = [*header, "energy MAE (meV)", *(["forces MAE (meV/Å)"] if forces else []),
              "train (s)", "params"]  # fmt: skip
    rows = [
        [*lead, _pm(c, "energy"), *([_pm(c, "forces")] if forces else []),
         f"{c.mean('train_s'):.0f}", c.params]
        for lead, c in zip(leading, configs, strict=True)
    ]  # fmt: skip
    return format_table(header, rows)


def _ranking(configs: list[Config], metric: str, name: str) -> tuple[str, list[str]]:
    """A table of ``configs`` sorted by ``metric`` and sentences on the best and the noise."""
    ranked = sorted(configs, key=lambda c: c.mean(metric))
    best = ranked[0]
    key = (lambda c: c.basis) if name == "basis" else (lambda c: c.angular)
    table = _table([name], [[key(c)] for c in ranked], ranked)
    unit = "meV/Å" if metric == "forces" else "meV"
    what = "force" if metric == "forces" else "energy"
    close = [key(c) for c in ranked[1:] if not _apart(best, c, metric)]
    text = [
        f"Lowest {what} error: **{key(best)}**, {best.mean(metric):.1f} {unit} "
        f"(worst: {key(ranked[-1])}, {ranked[-1].mean(metric):.1f} {unit}, "
        f"{ranked[-1].mean(metric) / best.mean(metric):.2f}x)."
    ]
    if close:
        text.append(f"Within seed noise of it: {', '.join(close)}.")
    else:
        text.append("Every other entry is apart from it (beyond seed noise).")
    return table, text


# training times within this factor count as equal cost (they vary by ~5% from run to run)
_EQUAL_COST = 1.1


def _pareto(configs: list[Config], metric: str) -> list[Config]:
    """Configurations that no other beats on ``metric`` at equal (within 10%) or lower time."""

    def beaten(c: Config) -> bool:
        return any(
            d.mean("train_s") <= _EQUAL_COST * c.mean("train_s") and d.mean(metric) < c.mean(metric)
            for d in configs
        )

    return sorted((c for c in configs if not beaten(c)), key=lambda c: c.mean("train_s"))


def _dataset_findings(dataset: str, configs: list[Config], baseline: float | None) -> list[str]:
    has_forces = any(c.forces for c in configs)
    metric = "forces" if has_forces else "energy"
    full = max(c.n_train for c in configs)
    at_full = [c for c in configs if c.n_train == full]
    lines: list[str] = []
    if baseline is not None:
        lines.append(
            f"Composition baseline: {baseline:.1f} meV. Every configuration beats it"
            if all(c.mean("energy") < baseline for c in configs)
            else f"Composition baseline: {baseline:.1f} meV; not every configuration beats it: "
            + ", ".join(c.label() for c in configs if c.mean("energy") >= baseline)
        )
        lines[-1] += "."

    families = [
        c for c in at_full
        if c.model == _REFERENCE and c.basis.endswith("-20")
    ]  # fmt: skip
    if len(families) > 1:
        table, text = _ranking(families, metric, "basis")
        lines += ["", f"**Radial family** (SchNet-like, 20 functions, n_train = {full}):", "",
                  table, "", " ".join(text)]  # fmt: skip
        by_basis = {c.basis: c for c in families}
        bessel, gauss = by_basis.get("bessel-20"), by_basis.get("gaussian-20")
        if bessel and gauss:
            verdicts = []
            for m in ("energy", "forces") if has_forces else ("energy",):
                winner = "Bessel" if bessel.mean(m) < gauss.mean(m) else "Gaussian"
                ratio = max(bessel.mean(m), gauss.mean(m)) / min(bessel.mean(m), gauss.mean(m))
                noise = "beyond seed noise" if _apart(bessel, gauss, m) else "within seed noise"
                verdicts.append(f"{m}: {winner} by {ratio:.2f}x ({noise})")
            agree = all(v.split(": ")[1].startswith("Bessel") and "beyond" in v for v in verdicts)
            against = any(
                v.split(": ")[1].startswith("Gaussian") and "beyond" in v for v in verdicts
            )
            verdict = (
                "agrees with DimeNet's ablation (Bessel over Gaussian)" if agree
                else "contradicts DimeNet's ablation" if against
                else "neither confirms nor contradicts DimeNet's ablation (within seed noise)"
            )  # fmt: skip
            lines += ["", f"**DimeNet's ablation** (bessel-20 against gaussian-20): "
                      f"{'; '.join(verdicts)}: this {verdict}."]  # fmt: skip

    gaussians = [c for c in at_full if c.model == _REFERENCE and c.basis.startswith("gaussian-")]
    if len(gaussians) > 1:
        gaussians.sort(key=lambda c: int(c.basis.split("-")[1]))
        best = min(gaussians, key=lambda c: c.mean(metric))
        close = [c.basis for c in gaussians if c is not best and not _apart(best, c, metric)]
        table = _table(["basis"], [[c.basis] for c in gaussians], gaussians)
        lines += ["", "**Number of Gaussians** (SchNet-like):", "", table]
        lines += [
            "", f"Best: {best.basis} ({best.mean(metric):.1f}); within seed noise of it: "
            f"{', '.join(close) or 'none'}.",
        ]  # fmt: skip

    angular = [c for c in at_full if c.basis == _ANGULAR_BASIS]
    if len(angular) > 1:
        table, text = _ranking(angular, metric, "angular part")
        lines += ["", f"**Angular part** ({_ANGULAR_BASIS}, n_train = {full}):", "", table, "",
                  " ".join(text)]  # fmt: skip
        none = next((c for c in angular if c.angular == "none"), None)
        if none is not None:
            gains = []
            for c in sorted(angular, key=lambda c: c.mean("train_s")):
                if c is none:
                    continue
                gains.append(
                    f"{c.angular}: {c.mean(metric) / none.mean(metric):.2f}x the {metric} error of "
                    f"distances alone at {c.mean('train_s') / none.mean('train_s'):.1f}x the time"
                    + ("" if _apart(c, none, metric) else " (within seed noise)")
                )
            lines += ["", "Over distances alone: " + "; ".join(gains) + "."]

    sizes = sorted(
        (c for c in configs if c.model == _REFERENCE and c.basis == _REFERENCE_BASIS),
        key=lambda c: c.n_train,
    )
    if len(sizes) > 1:
        steps = ", ".join(f"{c.n_train}: {c.mean(metric):.1f}" for c in sizes)
        lines += ["", f"**Training-set size** ({_REFERENCE} / {_REFERENCE_BASIS}, {metric} MAE): "
                  f"{steps}."]  # fmt: skip

    front = _pareto(at_full, metric)
    lines += [
        "", f"**At equal cost** (n_train = {full}): the configurations no other beats on "
        f"{metric} error at equal or lower training time, cheapest first: "
        + "; ".join(f"{c.label()} ({c.mean(metric):.1f} in {c.mean('train_s'):.0f} s)"
                    for c in front) + ".",
    ]  # fmt: skip
    return lines


def findings(rows: Iterable[dict], titles: dict[str, str] | None = None) -> str:
    """The findings of every data set in ``rows`` as Markdown (``""`` when there are none)."""
    rows = list(rows)
    configs = summarise(rows)
    out: list[str] = []
    for dataset in sorted({c.dataset for c in configs}):
        mine = [c for c in configs if c.dataset == dataset]
        baselines = {
            (r["seed"], r["n_test"]): float(r["baseline_energy_mae"])
            for r in rows
            if r["dataset"] == dataset and r.get("baseline_energy_mae") not in (None, "")
        }
        baseline = statistics.fmean(baselines.values()) if baselines else None
        title = (titles or {}).get(dataset, dataset)
        out += [f"### {title}", "", *_dataset_findings(dataset, mine, baseline), ""]
    return "\n".join(out).rstrip() + ("\n" if out else "")
