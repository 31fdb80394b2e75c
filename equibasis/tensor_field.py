r"""Tensor-field edge embeddings R(r) (x) Y(r_hat) and a Tensor Field Network convolution.

Conventions (see ``docs/tensor_field.md``):

* ``edge_index[0]`` = source j, ``edge_index[1]`` = target i (PyG); the edge vector is
  ``vec = pos[j] - pos[i]`` (e3nn / NequIP: seen from the atom that receives the message), as
  :func:`equibasis.geometry.edge_vectors` returns it.
* Spherical harmonics in e3nn's layout and axes, ``normalization="component"`` by default
  (each component has mean square 1 over the sphere, e3nn's choice inside networks).
* Radial features are multiplied by a smooth envelope (NequIP's polynomial cutoff, p = 6, by
  default), so every edge feature and message goes to zero, with its derivatives, at the cutoff.
"""

import math
import numbers
from collections.abc import Sequence

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import nn

from equibasis._runtime import recording_graph, static, values_known
from equibasis._tracing import Deployable
from equibasis._validation import (
    check_choice,
    check_float_tensor,
    check_int,
    check_last_dim,
    check_positive,
    check_same_device,
)
from equibasis.cutoff import PolynomialCutoff
from equibasis.geometry.graphs import edge_vectors, radius_graph
from equibasis.harmonics import spherical_harmonics

__all__ = ["EdgeEmbedding", "TensorFieldConv"]

_NORMALIZATIONS = ("integral", "component", "norm")


def _irreps_sh(irreps_sh: "int | str | o3.Irreps") -> o3.Irreps:
    """``lmax`` or an irreps of spherical harmonics -> e3nn Irreps (checked)."""
    if isinstance(irreps_sh, int) and not isinstance(irreps_sh, bool):
        lmax = check_int("irreps_sh", irreps_sh, minimum=0)
        return o3.Irreps.spherical_harmonics(lmax)
    try:
        irreps = o3.Irreps(irreps_sh)
    except (ValueError, AssertionError, TypeError) as err:
        raise ValueError(
            f"irreps_sh must be an int lmax or irreps, received {irreps_sh!r}"
        ) from err
    for mul, ir in irreps:
        if mul != 1 or ir.p != (-1) ** ir.l:
            raise ValueError(
                "irreps_sh must list spherical harmonics of a vector, 1x(l, (-1)^l) each "
                f"(e.g. '0e + 1o + 2e'), received {irreps_sh!r}"
            )
    if len(irreps) == 0:
        raise ValueError("irreps_sh must contain at least one degree l")
    return irreps


def _check_magnitude(vec: torch.Tensor) -> None:
    """Refuse entries whose square overflows: |v| would be inf and the radial part NaN.

    The bound is sqrt(max float) / 2 (9.2e18 in float32, 6.7e153 in float64; three squares
    then sum below the maximum): far beyond any cutoff, so such a vector is a unit or data bug,
    not a long edge. NaN and inf are refused as such.
    """
    if not values_known(vec) or vec.numel() == 0:
        return
    limit = math.sqrt(torch.finfo(vec.dtype).max) / 2
    largest = float(vec.detach().abs().amax())  # NaN if any entry is NaN
    if not math.isfinite(largest):
        raise ValueError("vec contains NaN or infinite values")
    if largest >= limit:
        raise ValueError(
            f"vec entries must be below {limit:.3g} in magnitude in {vec.dtype} (their squares "
            f"overflow in |vec|), received {largest:.3g}"
        )


def _check_radial(radial: object) -> nn.Module:
    if not isinstance(radial, nn.Module):
        raise TypeError(f"radial must be a torch.nn.Module, received {type(radial).__name__}")
    for attr in ("num_basis", "cutoff"):
        if not hasattr(radial, attr):
            raise TypeError(
                f"radial must have attributes num_basis and cutoff (an equibasis.radial basis); "
                f"{type(radial).__name__} has no {attr!r}"
            )
    return radial


class EdgeEmbedding(Deployable):
    r"""Embed edge vectors as enveloped radial features and spherical harmonics.

    .. math::

        \mathbf{v} \mapsto \Big( R_k(r)\, u(r),\; Y^{l}_{m}(\mathbf{v}/r) \Big),
        \qquad r = \lVert \mathbf{v} \rVert,\quad k = 1..K,\quad l \in \text{irreps\_sh}

    with :math:`R_k` the radial basis and :math:`u` the cutoff envelope (``cutoff_fn``;
    NequIP's polynomial envelope with p = 6 by default), so the radial features and their first
    derivatives vanish at :math:`r = r_c`. The tensor-field features of a Tensor Field Network
    are the products :math:`R_k(r) u(r) Y^l_m(\hat{\mathbf{v}})`; they are returned as the two
    factors, so a tensor product can use the harmonics and an MLP the radial part.

    The harmonics are :func:`equibasis.harmonics.spherical_harmonics` with
    ``normalize=True`` (e3nn's values and layout, any degree; the vector divided by
    ``max(|v|, 1e-12)`` as e3nn does).
    At :math:`\mathbf{v} = 0` the harmonics of degree l >= 1 are 0 (l = 0 keeps its constant),
    with zero gradient (no NaN).

    The radial features are ``radial(r) * cutoff_fn(r)`` for any pair of modules; without a
    graph to record the product is taken in place (same values).

    Args:
        irreps_sh: Maximum degree ``lmax`` (int, meaning ``0e + 1o + ... `` up to ``lmax``) or
            an e3nn irreps string / Irreps of spherical harmonics (``"0e + 1o + 2e"``, ``"1o"``,
            each with parity (-1)^l).
        radial: A radial basis module with attributes ``num_basis`` and ``cutoff`` and
            ``forward(r (...,)) -> (..., num_basis)``, e.g. :class:`equibasis.radial.BesselRBF`.
        cutoff_fn: Envelope module ``forward(r (...,)) -> (...,)``; ``None`` uses
            ``PolynomialCutoff(radial.cutoff, p=6)``.
        normalization: Spherical-harmonics normalization, ``"component"`` (default),
            ``"integral"`` or ``"norm"`` (e3nn's meanings).

    Shapes:
        ``forward(vec)``: ``vec`` of shape ``(..., 3)`` (length unit of ``radial.cutoff``,
        float32 or float64) -> ``(radial (..., num_basis), sh (..., irreps_sh.dim))``, dtype and
        device of ``vec``; ``sh`` in e3nn's layout: the degrees in the order of ``irreps_sh``,
        rows m = -l..l of each, e3nn's axes (polar axis y).

    Attributes:
        irreps_sh: The e3nn Irreps of ``sh``.
        num_basis: Number of radial features K.
        cutoff: The radial cutoff r_c.

    Raises:
        TypeError: If ``radial`` is not a radial-basis module.
        ValueError: If ``irreps_sh`` or ``normalization`` is invalid; (forward) if an entry of
            ``vec`` is so large that its square overflows (the message gives the bound).

    Example:
        >>> from equibasis.radial import BesselRBF
        >>> embed = EdgeEmbedding(2, BesselRBF(num_basis=8, cutoff=5.0))
        >>> radial, sh = embed(torch.randn(10, 3))
        >>> radial.shape, sh.shape, embed.irreps_sh
        (torch.Size([10, 8]), torch.Size([10, 9]), 1x0e+1x1o+1x2e)

    References:
        Thomas et al., "Tensor field networks", arXiv:1802.08219 (2018), Eq. (3);
        Batzner et al., "E(3)-equivariant graph neural networks ... (NequIP)", Nat. Commun. 13,
        2453 (2022), Eqs. (5)-(8); e3nn ``o3.spherical_harmonics``.
    """

    def __init__(
        self,
        irreps_sh: "int | str | o3.Irreps",
        radial: nn.Module,
        cutoff_fn: nn.Module | None = None,
        normalization: str = "component",
    ) -> None:
        super().__init__()
        self.irreps_sh = _irreps_sh(irreps_sh)
        self.radial = _check_radial(radial)
        self.num_basis = int(radial.num_basis)
        self.cutoff = float(radial.cutoff)
        if cutoff_fn is None:
            cutoff_fn = PolynomialCutoff(self.cutoff, p=6)
        elif not isinstance(cutoff_fn, nn.Module):
            raise TypeError(
                f"cutoff_fn must be a torch.nn.Module or None, received {type(cutoff_fn).__name__}"
            )
        self.cutoff_fn = cutoff_fn
        self.normalization = check_choice("normalization", normalization, _NORMALIZATIONS)
        self._ls = [ir.l for _, ir in self.irreps_sh]

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random edge vectors ``(E, 3)``, some longer than the cutoff."""
        return (self._vectors(self._generator(seed), 40 + 13 * seed, self.cutoff / 2.0),)

    def forward(self, vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Radial features (enveloped) and spherical harmonics of ``vec`` (see class doc)."""
        vec = check_last_dim("vec", check_float_tensor("vec", vec), 3)
        _check_magnitude(vec)
        if (torch.is_grad_enabled() and vec.requires_grad) or recording_graph():
            r = torch.linalg.vector_norm(vec, dim=-1)  # its gradient at 0 is 0, not NaN
            radial = self.radial(r) * self.cutoff_fn(r).unsqueeze(-1)
        else:  # no graph to record: the product in place
            r = torch.linalg.vector_norm(vec, dim=-1)
            radial = self.radial(r).mul_(self.cutoff_fn(r).unsqueeze(-1))
        # the harmonics project vec itself (dividing by max(|v|, 1e-12), as e3nn does)
        sh = spherical_harmonics(self._ls, vec, normalize=True, normalization=self.normalization)
        return radial, sh

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"irreps_sh={self.irreps_sh}, num_basis={self.num_basis}, cutoff={self.cutoff}, "
            f"normalization={self.normalization!r}"
        )


def _tfn_paths(
    irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_out: o3.Irreps
) -> tuple[o3.Irreps, list[tuple[int, int, int, str, bool]]]:
    """The "uvu" paths x_u (x) Y -> mid_u for every output irrep that ``irreps_out`` contains."""
    wanted = {ir for _, ir in irreps_out}
    mid: list[tuple[int, o3.Irrep]] = []
    instructions = []
    for i, (mul, ir_in) in enumerate(irreps_in):
        for j, (_, ir_sh) in enumerate(irreps_sh):
            for ir_out in ir_in * ir_sh:
                if ir_out in wanted:
                    instructions.append((i, j, len(mid), "uvu", True))
                    mid.append((mul, ir_out))
    irreps_mid = o3.Irreps(mid)
    # sort the intermediate irreps (l, parity) and renumber the instructions accordingly
    irreps_mid, perm, _ = irreps_mid.sort()
    instructions = [(i, j, perm[k], mode, w) for i, j, k, mode, w in instructions]
    return irreps_mid, instructions


@static
def _check_node_features(
    x: object, pos: torch.Tensor, dim: int, dtype: torch.dtype
) -> torch.Tensor:
    x = check_float_tensor("x", x)
    if x.ndim != 2 or x.shape[1] != dim or x.shape[0] != pos.shape[0]:
        raise ValueError(
            f"x must have shape (N, {dim}) with N = pos.shape[0] = {pos.shape[0]}, "
            f"received {tuple(x.shape)}"
        )
    check_same_device(x=x, pos=pos)
    for name, value in (("x", x), ("pos", pos)):
        if isinstance(value, torch.Tensor) and value.dtype != dtype:
            raise TypeError(
                f"{name} is {value.dtype} but the module's parameters are {dtype}: call "
                f"conv.to({value.dtype}) (e.g. .double()) or pass {dtype} inputs"
            )
    return x


class TensorFieldConv(Deployable):
    r"""Tensor Field Network convolution on e3nn's tensor product.

    .. math::

        \mathbf{x}'_i = W\Big( \frac{1}{Z_i} \sum_{j \in \mathcal{N}(i)}
        \mathbf{x}_j \otimes_{w(r_{ij})} Y(\hat{\mathbf{r}}_{ij}) \Big),
        \qquad w(r) = \mathrm{MLP}\big(R(r)\,u(r)\big),
        \qquad \mathbf{r}_{ij} = \mathbf{p}_j - \mathbf{p}_i

    The tensor product is e3nn's ``o3.TensorProduct`` with ``"uvu"`` paths (each input channel u
    of irrep l1 times each harmonic l2 into every l3 in l1 (x) l2 that ``irreps_out`` holds, one
    weight per channel and path, given per edge by the MLP), followed by an ``o3.Linear`` that
    mixes channels into ``irreps_out`` (TFN's self-interaction). ``uvu`` + Linear rather than a
    ``FullyConnectedTensorProduct`` with per-edge weights: the MLP then outputs mul x paths
    weights per edge instead of mul_in x mul_out x paths, which is what NequIP and e3nn's
    ``Convolution`` do; the Linear is applied after the sum, on nodes rather than edges.

    The MLP is e3nn's ``FullyConnectedNet`` (no biases, SiLU normalised to unit second moment),
    so w(0) = 0 and the weights inherit the envelope's smooth decay to 0 at the cutoff.

    Aggregation: messages are summed at the target (``edge_index[1]``) and divided by
    :math:`Z_i = \sqrt{\text{num\_neighbors}}` (``aggregation="sum"``, e3nn's convention,
    a constant: the typical neighbour count) or by the target's own neighbour count
    (``aggregation="mean"``; atoms without neighbours get zeros). Irreps of ``irreps_out`` that
    no path reaches (e.g. ``0o`` from scalar input and ``lmax = 1``) are zero.

    Equivariant under O(3) (rotations and reflections, with parity) and translations by
    construction; checked by ``equibasis.testing.assert_equivariant`` in the tests.

    Args:
        irreps_in: Node input irreps (e3nn string or Irreps), e.g. ``"8x0e + 4x1o"``.
        irreps_out: Node output irreps.
        irreps_sh: Harmonics of the filter: ``lmax`` (int) or irreps such as ``"0e + 1o + 2e"``.
        radial: Radial basis module (attributes ``num_basis``, ``cutoff``), e.g.
            :class:`equibasis.radial.BesselRBF`.
        hidden: Hidden layer widths of the radial MLP (may be empty: a linear map); an int is
            one hidden layer of that width.
        cutoff_fn: Envelope; ``None`` uses ``PolynomialCutoff(radial.cutoff, p=6)``.
        normalization: Harmonics normalization (``"component"`` default).
        aggregation: ``"sum"`` (divide by ``sqrt(num_neighbors)``) or ``"mean"``.
        num_neighbors: Typical neighbour count for ``aggregation="sum"`` (> 0).

    Shapes:
        ``forward(x, pos, edge_index)``: ``x`` ``(N, irreps_in.dim)``, ``pos`` ``(N, 3)``,
        ``edge_index`` ``(2, E)`` (source, target) -> ``(N, irreps_out.dim)``. Learnable
        parameters are created in torch's default dtype; call ``.double()`` for float64.

    Raises:
        TypeError: If ``radial`` is not a radial-basis module; (forward) if ``x`` or ``pos``
            has another dtype than the module's parameters.
        ValueError: On invalid irreps, widths, aggregation or input shapes.

    Example:
        >>> from equibasis.geometry import radius_graph
        >>> from equibasis.radial import GaussianRBF
        >>> radial = GaussianRBF(num_basis=16, cutoff=3.0)
        >>> conv = TensorFieldConv("2x0e", "4x0e + 2x1o", 2, radial, hidden=[16])
        >>> pos = torch.randn(5, 3)
        >>> conv(torch.randn(5, 2), pos, radius_graph(pos, 3.0)).shape
        torch.Size([5, 10])

    References:
        Thomas et al., "Tensor field networks", arXiv:1802.08219 (2018), Eqs. (3)-(5);
        e3nn ``nn.models.v2106.points_convolution.Convolution``; NequIP ``InteractionBlock``.
    """

    def __init__(
        self,
        irreps_in: "str | o3.Irreps",
        irreps_out: "str | o3.Irreps",
        irreps_sh: "int | str | o3.Irreps",
        radial: nn.Module,
        hidden: Sequence[int] = (64,),
        cutoff_fn: nn.Module | None = None,
        normalization: str = "component",
        aggregation: str = "sum",
        num_neighbors: float = 1.0,
    ) -> None:
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.irreps_out = o3.Irreps(irreps_out)
        if self.irreps_in.dim == 0 or self.irreps_out.dim == 0:
            raise ValueError(
                "irreps_in and irreps_out must be non-empty, "
                f"received {irreps_in!r}, {irreps_out!r}"
            )
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)  # one hidden layer
        if not isinstance(hidden, Sequence) or isinstance(hidden, str):
            raise TypeError(
                f"hidden must be an int or a sequence of ints (layer widths), received "
                f"{type(hidden).__name__} {hidden!r}"
            )
        hidden = [check_int("hidden", h, minimum=1) for h in hidden]
        self.aggregation = check_choice("aggregation", aggregation, ("sum", "mean"))
        self.num_neighbors = check_positive("num_neighbors", num_neighbors)
        self.embedding = EdgeEmbedding(irreps_sh, radial, cutoff_fn, normalization)
        self.irreps_sh = self.embedding.irreps_sh
        self.irreps_mid, instructions = _tfn_paths(self.irreps_in, self.irreps_sh, self.irreps_out)
        if not instructions:
            raise ValueError(
                f"no tensor-product path from {self.irreps_in} (x) {self.irreps_sh} reaches any "
                f"irrep of irreps_out {self.irreps_out}"
            )
        self.tp = o3.TensorProduct(
            self.irreps_in,
            self.irreps_sh,
            self.irreps_mid,
            instructions,
            shared_weights=False,
            internal_weights=False,
        )
        self.mlp = FullyConnectedNet(
            [self.embedding.num_basis, *hidden, self.tp.weight_numel], act=torch.nn.functional.silu
        )
        self.linear = o3.Linear(self.irreps_mid, self.irreps_out)
        # plain ints for forward (torch.compile would guard on the Irreps' length otherwise)
        self._dim_in, self._dim_mid = self.irreps_in.dim, self.irreps_mid.dim
        self.cutoff = self.embedding.cutoff

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Node features, positions of 8-14 atoms and their radius graph (both directions)."""
        gen = self._generator(seed)
        atoms = 8 + 3 * seed
        pos = self._vectors(gen, atoms, self.cutoff / 2.0)
        x = self._vectors(gen, atoms * self._dim_in, 1.0)[:, 0].reshape(atoms, -1)
        return x, pos, radius_graph(pos, self.cutoff)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Convolve node features ``x`` over the graph (see class doc for shapes)."""
        x = _check_node_features(x, pos, self._dim_in, next(self.mlp.parameters()).dtype)
        vec, _ = edge_vectors(pos, edge_index)
        source, target = edge_index[0], edge_index[1]
        radial, sh = self.embedding(vec)
        messages = self.tp(x[source], sh, self.mlp(radial))  # (E, irreps_mid.dim)
        out = messages.new_zeros(x.shape[0], self._dim_mid).index_add_(0, target, messages)
        if self.aggregation == "sum":
            out = out / math.sqrt(self.num_neighbors)
        else:
            count = torch.bincount(target, minlength=x.shape[0]).clamp(min=1)
            out = out / count.to(out.dtype)[:, None]
        return self.linear(out)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"{self.irreps_in} -> {self.irreps_out}, irreps_sh={self.irreps_sh}, "
            f"aggregation={self.aggregation!r}, num_neighbors={self.num_neighbors}"
        )
