"""What one benchmark run is (:class:`RunSpec`), the names of bases and models, and the grid.

Basis names are ``family-K`` (``K`` radial functions, default 20): ``gaussian``, ``bessel``,
``spherical-bessel``, ``expnormal``, ``bernstein``; e.g. ``gaussian-300`` is SchNet's original
count. Model names: ``schnet``; ``dimenet++`` (angle basis variant ``paper``;
``dimenet++-pyg`` and ``dimenet++-dig`` for the others); ``spherenet`` (torsion variant
``consistent``; ``spherenet-dig``); ``tfn`` (lmax 2; ``tfn-l1``, ``tfn-l3``, ...).

The grid varies one thing at a time around a reference (SchNet-like, 20 functions):
the radial family, the number of Gaussians (5, 20, 50, 300: the article's numbers), the
angular part (none, angle, torsion, lmax 1/2/3, all on ``bessel-20``) and the training-set
size; optimiser, schedule, epochs, width and seeds are the same across a comparison.
"""

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from equibasis.polar.variants import ANGLE_VARIANTS, TORSION_VARIANTS
from equibasis.radial.registry import RADIAL_FAMILIES

if TYPE_CHECKING:
    from equibasis.models import EnergyModel

__all__ = [
    "FAMILIES",
    "RunSpec",
    "Sizes",
    "default_grid",
    "make_model",
    "make_radial",
    "parse_basis",
    "parse_model",
    "sizes_for",
]

FAMILIES = tuple(RADIAL_FAMILIES)  # gaussian, bessel, spherical-bessel, expnormal, bernstein
DEFAULT_NUM_RADIAL = 20
GAUSSIAN_COUNTS = (5, 20, 50, 300)
ANGULAR_MODELS = ("schnet", "dimenet++", "spherenet-dig", "spherenet", "tfn-l1", "tfn-l2", "tfn-l3")
QUICK_BASES = ("gaussian-20", "bessel-20", "bernstein-20")


@dataclass(frozen=True)
class Sizes:
    """Data and training sizes of one dataset in one mode (quick or full)."""

    n_train: int
    n_val: int
    n_test: int
    epochs: int
    batch_size: int = 16
    lr: float = 3e-3
    hidden: int = 64
    force_weight: float = 10.0


# Sized for 2 CPU cores; a bigger grid passes --n-train / --epochs (see docs/benchmark.md).
_SIZES = {
    ("qm9", True): Sizes(n_train=500, n_val=100, n_test=500, epochs=15),
    ("qm9", False): Sizes(n_train=1000, n_val=200, n_test=1000, epochs=16),
    ("qm9-full", True): Sizes(n_train=500, n_val=100, n_test=500, epochs=10),
    ("qm9-full", False): Sizes(n_train=10000, n_val=1000, n_test=10000, epochs=100),
    ("ethanol", True): Sizes(n_train=200, n_val=50, n_test=250, epochs=10),
    ("ethanol", False): Sizes(n_train=500, n_val=100, n_test=400, epochs=32),
}


def sizes_for(dataset: str, quick: bool) -> Sizes:
    """The default :class:`Sizes` of ``dataset`` (``qm9``, ``qm9-full``, ``ethanol``)."""
    try:
        return _SIZES[(dataset, bool(quick))]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r}; expected qm9, qm9-full or ethanol"
        ) from None


@dataclass(frozen=True)
class RunSpec:
    """One training run: everything that determines its numbers.

    ``radial_scale``: ``"rms"`` scales the enveloped radial basis to unit RMS over the
    training set's edges (:meth:`~equibasis.models.EnergyModel.normalise_radial`, one fixed
    number per run), ``"none"`` uses it as published.

    Two runs with equal specs give equal results (same seed: same split, initialisation and
    batch order), so :attr:`key` names a finished run on disk and a rerun skips it.
    """

    dataset: str
    model: str
    basis: str
    seed: int
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    batch_size: int = 16
    lr: float = 3e-3
    hidden: int = 64
    cutoff: float = 5.0
    force_weight: float = 10.0
    device: str = "cpu"
    radial_scale: str = "rms"

    def __post_init__(self) -> None:
        if self.radial_scale not in ("rms", "none"):
            raise ValueError(
                f"radial_scale must be 'rms' or 'none', received {self.radial_scale!r}"
            )

    @property
    def key(self) -> str:
        """A short stable hash of every field (the run's file name)."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


def parse_basis(name: str) -> tuple[str, int]:
    """``"gaussian-50"`` -> ``("gaussian", 50)``; a bare family gets 20 functions.

    Raises:
        ValueError: On an unknown family or a count < 1.

    Example:
        >>> parse_basis("gaussian-300"), parse_basis("spherical-bessel")
        (('gaussian', 300), ('spherical-bessel', 20))
    """
    family, _, count = name.rpartition("-")
    if not family or not count.isdigit():
        family, count = name, str(DEFAULT_NUM_RADIAL)
    if family not in FAMILIES or int(count) < 1:
        raise ValueError(
            f"unknown basis {name!r}; expected FAMILY or FAMILY-K with FAMILY in "
            f"{', '.join(FAMILIES)} and K >= 1 (e.g. gaussian-50)"
        )
    return family, int(count)


def make_radial(name: str, cutoff: float = 5.0) -> nn.Module:
    """The radial basis named ``name`` (see :func:`parse_basis`) with the given cutoff in Å.

    Built by :func:`equibasis.radial.radial_basis`: ``spherical-bessel-K`` uses degrees
    l = 0, 1 with K/2 roots each (l = 0 only for odd K).

    Example:
        >>> basis = make_radial("bessel-8", cutoff=4.0)
        >>> type(basis).__name__, basis.num_basis, basis.cutoff
        ('BesselRBF', 8, 4.0)
    """
    from equibasis.radial import radial_basis

    family, k = parse_basis(name)
    return radial_basis(family, k, cutoff)


def parse_model(name: str) -> tuple[str, str | int | None]:
    """``"spherenet-dig"`` -> ``("spherenet", "dig")``, ``"tfn-l3"`` -> ``("tfn", 3)``.

    Raises:
        ValueError: On an unknown model or variant.

    Example:
        >>> parse_model("spherenet-dig"), parse_model("tfn"), parse_model("dimenet++")
        (('spherenet', 'dig'), ('tfn', 2), ('dimenet++', 'paper'))
    """
    base, _, variant = name.partition("-")
    if base == "schnet" and not variant:
        return base, None
    if base == "dimenet++" and (not variant or variant in ANGLE_VARIANTS):
        return base, variant or "paper"
    if base == "spherenet" and (not variant or variant in TORSION_VARIANTS):
        return base, variant or "consistent"
    if base == "tfn" and (not variant or (variant[:1] == "l" and variant[1:].isdigit())):
        lmax = int(variant[1:]) if variant else 2
        if lmax >= 1:
            return base, lmax
    raise ValueError(
        f"unknown model {name!r}; expected schnet, dimenet++[-paper|-pyg|-dig], "
        "spherenet[-consistent|-dig] or tfn[-lN] (N >= 1)"
    )


def make_model(name: str, basis: str, hidden: int = 64, cutoff: float = 5.0) -> "EnergyModel":
    """Build the model ``name`` on the radial basis ``basis`` (see the module docstring)."""
    from equibasis import models
    from equibasis.polar import AngleBasis, TorsionBasis

    base, variant = parse_model(name)
    radial = make_radial(basis, cutoff)
    if base == "schnet":
        return models.SchNetLike(radial, hidden=hidden)
    if base == "dimenet++":
        angle = AngleBasis(7, 6, cutoff=cutoff, variant=str(variant))
        return models.DimeNetPPLike(radial, angle, hidden=hidden, int_emb=hidden // 2)
    if base == "spherenet":
        torsion = TorsionBasis(3, 6, cutoff=cutoff, variant=str(variant))
        return models.SphereNetLike(radial, torsion, hidden=hidden, int_emb=hidden // 2)
    return models.TFNLike(radial, lmax=int(variant), hidden=hidden // 2, vectors=hidden // 8)


def default_grid(
    dataset: str,
    quick: bool = False,
    seeds: tuple[int, ...] = (0, 1, 2),
    models: tuple[str, ...] | None = None,
    bases: tuple[str, ...] | None = None,
    n_train: int | None = None,
    epochs: int | None = None,
    device: str = "cpu",
    radial_scale: str = "rms",
) -> list[RunSpec]:
    """The runs of one dataset, without duplicates, in a stable order.

    With ``models`` or ``bases`` the grid is their product (defaults: ``schnet``; the quick
    bases or the five families at 20 functions). Otherwise ``quick`` is SchNet-like on
    gaussian-20, bessel-20 and bernstein-20, and the full grid holds the four axes of the
    module docstring. Every run of the grid has the same sizes, except along the
    training-set axis (1/4, 1/2 and all of ``n_train``).

    Example:
        >>> grid = default_grid("qm9", quick=True, seeds=(0, 1))
        >>> len(grid), sorted({s.basis for s in grid}), grid[0].n_train
        (6, ['bernstein-20', 'bessel-20', 'gaussian-20'], 500)
    """
    sizes = sizes_for(dataset, quick)
    n_train = sizes.n_train if n_train is None else n_train
    epochs = sizes.epochs if epochs is None else epochs
    for name in models or ():
        parse_model(name)
    for name in bases or ():
        parse_basis(name)
    ref = f"gaussian-{DEFAULT_NUM_RADIAL}"
    pairs: list[tuple[str, str, int]] = []  # (model, basis, n_train)
    if models or bases:
        default_bases = QUICK_BASES if quick else tuple(f"{f}-20" for f in FAMILIES)
        pairs = [(m, b, n_train) for m in models or ("schnet",) for b in bases or default_bases]
    elif quick:
        pairs = [("schnet", b, n_train) for b in QUICK_BASES]
    else:
        pairs += [("schnet", f"{f}-{DEFAULT_NUM_RADIAL}", n_train) for f in FAMILIES]
        pairs += [("schnet", f"gaussian-{k}", n_train) for k in GAUSSIAN_COUNTS]
        pairs += [(m, f"bessel-{DEFAULT_NUM_RADIAL}", n_train) for m in ANGULAR_MODELS]
        pairs += [("schnet", ref, max(1, n_train * f // 4)) for f in (1, 2, 4)]
    unique = list(dict.fromkeys(pairs))
    return [
        RunSpec(
            dataset=dataset,
            model=m,
            basis=b,
            seed=s,
            n_train=n,
            n_val=sizes.n_val,
            n_test=sizes.n_test,
            epochs=epochs,
            batch_size=sizes.batch_size,
            lr=sizes.lr,
            hidden=sizes.hidden,
            force_weight=sizes.force_weight if dataset == "ethanol" else 0.0,
            device=device,
            radial_scale=radial_scale,
        )
        for m, b, n in unique
        for s in seeds
    ]
