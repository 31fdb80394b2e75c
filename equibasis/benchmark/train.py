r"""Train one model of the grid and measure it: the same optimiser, schedule and loss for all.

Recipe (identical for every run of a comparison):

* data: ``dataset.split(n_train, n_val, n_test, seed)`` (the seed also fixes initialisation and
  batch order); targets are the energies minus a composition fit
  (:class:`~equibasis.datasets.CompositionBaseline`) on every molecule outside the test set
  (a small training set may miss a rare element; the fit is fixed before training), and the
  model's energy scale is the standard deviation of the training residuals (QM9) or the RMS
  of the force components (MD);
* loss: :math:`\mathrm{MSE}(E)/s^2 + w_F\,\mathrm{MSE}(\mathbf{F})/s^2` per batch, with
  :math:`w_F` = ``force_weight`` where the set has forces (0 otherwise);
* the enveloped radial basis scaled to unit RMS over the training edges (``radial_scale``
  ``"rms"``, the default; the published bases differ by 30x in RMS, which under Adam acts like
  a different learning rate of the first layer), or as published (``"none"``);
* Adam, learning rate ``lr`` decayed by a cosine to ``lr / 100`` over all steps, batches of
  ``batch_size``, ``epochs`` passes, float32; the model after the last epoch is measured;
* each epoch: MAE on the validation set (the learning curve); at the end: MAE on the test set.

Units: MAEs in meV (energies, per molecule) and meV/Å (force components); ``train_s`` is the
wall-clock time of the training loop (validation included), in seconds.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from equibasis.benchmark.spec import RunSpec, make_model
from equibasis.datasets import CompositionBaseline, MolecularDataset

__all__ = ["RunResult", "evaluate", "train_run"]


@dataclass
class RunResult:
    """What one run measured (MAEs in meV and meV/Å)."""

    energy_mae: float
    forces_mae: float | None
    baseline_energy_mae: float
    params: int
    train_s: float
    epoch_s: float
    curve: list[dict[str, float | None]] = field(default_factory=list)


def _batches(n: int, size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(size))


def _training_distances(train: MolecularDataset, cutoff: float, limit: int = 512) -> torch.Tensor:
    """The edge lengths (Å) of the first ``limit`` training molecules' graphs."""
    from equibasis.geometry import edge_vectors, molecular_graph

    index = torch.arange(min(len(train), limit))
    b = train.batch(index).to(torch.float64, "cpu")
    return edge_vectors(b.pos, molecular_graph(b.pos, b.batch, cutoff))[1]


def evaluate(
    model: torch.nn.Module,
    data: MolecularDataset,
    residual: torch.Tensor,
    batch_size: int = 64,
    device: str = "cpu",
) -> tuple[float, float | None]:
    """Energy MAE (meV per molecule) and force MAE (meV/Å, per component, or None).

    ``residual`` are the target energies minus the composition baseline (eV), shape ``(M,)``.
    """
    model.eval()
    dtype = next(model.parameters()).dtype
    e_err, f_err, f_count = 0.0, 0.0, 0
    for index in _batches(len(data), batch_size, None):
        b = data.batch(index).to(dtype, device)
        target = residual[index].to(dtype=dtype, device=device)
        if data.has_forces:
            energy, forces = model.energy_and_forces(
                b.z, b.pos, b.batch, index.numel(), create_graph=False, reference=False
            )
            f_err += float((forces.detach() - b.forces).abs().sum())
            f_count += b.forces.numel()
        else:
            with torch.no_grad():
                energy = model.interaction_energy(b.z, b.pos, b.batch, index.numel())
        e_err += float((energy.detach() - target).abs().sum())
    forces_mae = 1e3 * f_err / f_count if f_count else None
    return 1e3 * e_err / max(len(data), 1), forces_mae


def train_run(
    spec: RunSpec,
    dataset: MolecularDataset,
    epoch_bar: Callable[[int], object] | None = None,
) -> RunResult:
    """Train the model of ``spec`` on ``dataset`` and measure it (see the module docstring).

    Args:
        spec: The run.
        dataset: The whole data set; ``spec`` says how it is split.
        epoch_bar: Optional factory ``epoch_bar(total)`` of a progress bar with ``update()``,
            ``set_postfix_str()`` and ``close()`` (tqdm's interface).

    Returns:
        The :class:`RunResult`.
    """
    device = spec.device
    train, val, test = dataset.split(spec.n_train, spec.n_val, spec.n_test, seed=spec.seed)
    # the composition fit sees every molecule outside the test set: a small training set can
    # miss a rare element (QM9's fluorine), and the fit's few numbers are fixed before training
    outside = dataset.split_indices(len(dataset) - spec.n_test, 0, spec.n_test, spec.seed)[0]
    baseline = CompositionBaseline.fit(dataset.subset(outside))
    residual = {
        name: part.energy - baseline.predict(part)
        for name, part in (("train", train), ("val", val), ("test", test))
    }
    if train.has_forces:
        scale = float(train.forces.square().mean().sqrt())
    else:
        scale = float(residual["train"].std()) if len(train) > 1 else 1.0
    scale = scale if scale > 0 else 1.0
    force_weight = spec.force_weight if train.has_forces else 0.0

    torch.manual_seed(spec.seed)
    model = make_model(spec.model, spec.basis, spec.hidden, spec.cutoff).to(device)
    model.set_reference(baseline.table(model.max_z), scale)
    if spec.radial_scale == "rms":  # RunSpec accepts "rms" or "none" only
        model.normalise_radial(_training_distances(train, spec.cutoff))
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    generator = torch.Generator().manual_seed(spec.seed)
    steps = spec.epochs * math.ceil(len(train) / spec.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(k / steps, 1.0)))
    )
    dtype = next(model.parameters()).dtype
    bar = epoch_bar(spec.epochs) if epoch_bar is not None else None
    curve: list[dict[str, float | None]] = []
    start = time.perf_counter()
    for epoch in range(spec.epochs):
        model.train()
        total = 0.0
        for index in _batches(len(train), spec.batch_size, generator):
            b = train.batch(index).to(dtype, device)
            target = residual["train"][index].to(dtype=dtype, device=device)
            if force_weight > 0:
                energy, forces = model.energy_and_forces(
                    b.z, b.pos, b.batch, index.numel(), create_graph=True, reference=False
                )
                loss = (energy - target).square().mean() + force_weight * (
                    forces - b.forces
                ).square().mean()
            else:
                energy = model.interaction_energy(b.z, b.pos, b.batch, index.numel())
                loss = (energy - target).square().mean()
            loss = loss / scale**2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * index.numel()
        val_e, val_f = evaluate(model, val, residual["val"], device=device)
        curve.append(
            {
                "epoch": epoch + 1,
                "train_loss": total / len(train),
                "val_energy_mae": val_e,
                "val_forces_mae": val_f,
            }
        )
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"val E MAE {val_e:.1f} meV")
    train_s = time.perf_counter() - start
    if bar is not None:
        bar.close()
    test_e, test_f = evaluate(model, test, residual["test"], device=device)
    return RunResult(
        energy_mae=test_e,
        forces_mae=test_f,
        baseline_energy_mae=1e3 * float(residual["test"].abs().mean()),
        params=params,
        train_s=train_s,
        epoch_s=train_s / max(spec.epochs, 1),
        curve=curve,
    )
