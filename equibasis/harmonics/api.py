"""The public entry points on vectors.

:func:`spherical_harmonics` (e3nn's layout and normalisations), :class:`SphericalHarmonics`,
:func:`real_spherical_harmonics` (standard convention).
"""

from collections.abc import Sequence

import torch
from e3nn.o3 import Irreps

from equibasis._tracing import Deployable
from equibasis._validation import (
    check_choice,
    check_float_tensor,
    check_int,
    check_last_dim,
)
from equibasis.harmonics.closed_forms import _CLOSED_FORM_LMAX, _closed_form_e3nn
from equibasis.harmonics.recurrence import _evaluate_rows

NORMALIZATIONS = ("integral", "component", "norm")


def _evaluate(
    ls: Sequence[int],
    v: torch.Tensor,
    normalize: bool,
    normalization: str,
    e3nn_axes: bool,
) -> torch.Tensor:
    """Shared body of every public entry point: ``(..., 3)`` -> ``(..., sum(2l+1))``.

    Degrees <= 3 use e3nn's closed-form polynomials (the standard layout on permuted axes), the
    rest the recurrence;
    both are torch operations on any device, differentiable to any order. Without a graph to
    record (eager, no gradient) the closed forms write their columns in place; while a graph
    is recorded (:mod:`equibasis._runtime`) everything is functional.
    """
    if v.dtype in (torch.float16, torch.bfloat16):
        # computed in float32 and rounded once: torch's half-precision CPU kernels round
        # differently in their vector and scalar loops, so a row's value (up to 1e-3) would
        # depend on the batch it came in
        return _evaluate(ls, v.float(), normalize, normalization, e3nn_axes).to(v.dtype)
    if max(ls) <= _CLOSED_FORM_LMAX:
        # the standard convention is e3nn's on permuted axes: standard(v) = e3nn(v[..., [1, 2, 0]])
        u = v if e3nn_axes else v[..., [1, 2, 0]]
        return _closed_form_e3nn(ls, u, normalize, normalization)
    batch = v.shape[:-1]
    out = _evaluate_rows(ls, v.reshape(-1, 3), normalize, normalization, e3nn_axes)
    return out.reshape(*batch, out.shape[-1])


def _check_vectors(x: object) -> torch.Tensor:
    x = check_float_tensor("x", x)
    if x.is_complex():
        raise TypeError(f"x must be a real floating-point tensor, received {x.dtype}")
    return check_last_dim("x", x, 3)


def _parse_irreps(
    irreps_out: int | Sequence[int] | str | Irreps, irreps_in: object
) -> tuple[list[int], Irreps, Irreps]:
    """e3nn's SphericalHarmonics.__init__ rules: degrees, irreps_out and irreps_in."""
    if isinstance(irreps_out, str):
        irreps_out = Irreps(irreps_out)
    if isinstance(irreps_out, Irreps) and irreps_in is None:
        for _, (l, p) in irreps_out:
            if l % 2 == 1 and p == 1:
                irreps_in = Irreps("1e")
    if irreps_in is None:
        irreps_in = Irreps("1o")
    irreps_in = Irreps(irreps_in)
    if irreps_in not in (Irreps("1x1o"), Irreps("1x1e")):
        raise ValueError(
            "irreps_in for SphericalHarmonics must be either a vector (`1x1o`) or a "
            f"pseudovector (`1x1e`), not `{irreps_in}`"
        )
    input_p = irreps_in[0].ir.p
    if isinstance(irreps_out, Irreps):
        ls: list[int] = []
        for mul, (l, p) in irreps_out:
            if p != input_p**l:
                raise ValueError(
                    f"irreps_out `{irreps_out}` passed to SphericalHarmonics asked for an output "
                    f"of l = {l} with parity p = {p}, which is inconsistent with the input "
                    f"parity {input_p}; the output parity should have been p = {input_p**l}"
                )
            ls.extend([l] * mul)
    elif isinstance(irreps_out, int) and not isinstance(irreps_out, bool):
        ls = [check_int("l", irreps_out)]
    elif isinstance(irreps_out, Sequence):
        ls = [check_int("l", l) for l in irreps_out]
    else:
        raise TypeError(
            "l must be an int, a list of ints, an irreps string or an e3nn Irreps, "
            f"received {type(irreps_out).__name__}"
        )
    if not ls:
        raise ValueError("l must name at least one degree, received an empty list")
    out = Irreps([(1, (l, input_p**l)) for l in ls]).simplify()
    return ls, out, irreps_in


def spherical_harmonics(
    l: int | Sequence[int] | str | Irreps,
    x: torch.Tensor,
    normalize: bool = True,
    normalization: str = "integral",
) -> torch.Tensor:
    r"""Real spherical harmonics in e3nn's convention, for any degree.

    Same contract and output as :func:`e3nn.o3.spherical_harmonics` (which stops at l = 12):

    .. math::

        Y^l_{\text{e3nn}}(v) = c_l\, Y^l_{\text{std}}(v_z, v_x, v_y),

    i.e. the standard real harmonics (Wikipedia, :func:`real_spherical_harmonics`) of the
    cyclically permuted vector, so e3nn's polar axis is ``y``; rows of each degree are
    m = -l..l of that standard convention. :math:`c_l` is 1 (``"integral"``:
    :math:`\int_{S^2} Y_m^2 = 1`), :math:`\sqrt{4\pi}` (``"component"``:
    :math:`\|Y^l\|^2 = 2l+1`) or :math:`\sqrt{4\pi/(2l+1)}` (``"norm"``: :math:`\|Y^l\| = 1`).
    Equivariant: :math:`Y^l(Rv) = D^l(R) Y^l(v)` with e3nn's ``Irrep.D_from_matrix``.

    With ``normalize=True`` the input is divided by ``max(|v|, 1e-12)`` exactly as e3nn does;
    the zero vector gives 0 for l >= 1 (and the constant for l = 0), and its gradient is
    defined as 0 (e3nn's is about 1/eps there). With ``normalize=False`` the output is the
    homogeneous polynomial :math:`|v|^l Y^l(\hat v)`.

    Args:
        l: Degree(s): an int, a list of ints (any order, repeats allowed), or irreps
            (string or :class:`e3nn.o3.Irreps`) whose parities follow e3nn's rules
            (``p = (-1)^l`` for vectors, ``p = 1`` for pseudovectors).
        x: Vectors, shape ``(..., 3)``, float32 or float64, any device; any length unit.
        normalize: Project ``x`` on the unit sphere first.
        normalization: ``"integral"``, ``"component"`` or ``"norm"`` (e3nn's names).

    Returns:
        Shape ``(..., sum(2l+1))``, the degrees in the order given, with the dtype and device
        of ``x``.

    Raises:
        TypeError: If ``x`` is not a real floating tensor or ``l`` has a bad type.
        ValueError: If ``x`` is not ``(..., 3)``, a degree is negative, the irreps parities
            are inconsistent, or ``normalization`` is unknown.

    Example:
        >>> import math
        >>> y = spherical_harmonics([0, 1, 2], torch.tensor([[0.0, 2.0, 0.0]]))
        >>> y.shape
        torch.Size([1, 9])
        >>> bool(torch.isclose(y[0, 6], torch.tensor(math.sqrt(5 / math.pi) / 2)))
        True
        >>> spherical_harmonics(41, torch.randn(4, 3)).shape
        torch.Size([4, 83])

    References:
        e3nn ``o3.spherical_harmonics`` (layout, normalisations); sphericart
        (Bigi et al., J. Chem. Phys. 159, 064802 (2023)) for the recurrence.
    """
    x = _check_vectors(x)
    check_choice("normalization", normalization, NORMALIZATIONS)
    return _evaluate(_degrees(l), x, bool(normalize), normalization, e3nn_axes=True)


def _degrees(l: object) -> list[int]:
    """The degrees named by ``l``; plain ints skip building e3nn Irreps (~20 us a call)."""
    if isinstance(l, (list, tuple)) and l and all(type(d) is int and d >= 0 for d in l):
        return list(l)
    if type(l) is int and l >= 0:
        return [l]
    return _parse_irreps(l, None)[0]


class SphericalHarmonics(Deployable):
    """Module form of :func:`spherical_harmonics`, a drop-in for e3nn.o3.SphericalHarmonics.

    Args:
        irreps_out: Degrees: int, list of ints, irreps string or :class:`e3nn.o3.Irreps`.
        normalize: Project the input on the unit sphere first.
        normalization: ``"integral"``, ``"component"`` or ``"norm"``.
        irreps_in: ``"1o"`` (vectors, default) or ``"1e"`` (pseudovectors); when omitted and
            ``irreps_out`` has an odd degree with even parity, ``"1e"`` is inferred (as e3nn).

    Attributes:
        irreps_out: The output irreps (simplified, as e3nn).
        irreps_in: ``1x1o`` or ``1x1e``.

    Raises:
        ValueError: As e3nn: irreps_in not a (pseudo)vector, or an output parity inconsistent
            with the input parity; also an unknown normalization or a negative degree.

    Example:
        >>> sh = SphericalHarmonics("0e + 1o + 2e", normalize=True)
        >>> sh.irreps_out
        1x0e+1x1o+1x2e
        >>> sh(torch.randn(5, 3)).shape
        torch.Size([5, 9])
    """

    def __init__(
        self,
        irreps_out: int | Sequence[int] | str | Irreps,
        normalize: bool = True,
        normalization: str = "integral",
        irreps_in: str | Irreps | None = None,
    ) -> None:
        super().__init__()
        check_choice("normalization", normalization, NORMALIZATIONS)
        ls, out, irreps_in = _parse_irreps(irreps_out, irreps_in)
        self.normalize = bool(normalize)
        self.normalization = normalization
        self.irreps_in = irreps_in
        self.irreps_out = out
        self._ls = ls

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random vectors ``(N, 3)``."""
        return (self._vectors(self._generator(seed), 40 + 13 * seed, 2.0),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Harmonics of ``x`` (..., 3) -> (..., irreps_out.dim)."""
        x = _check_vectors(x)
        return _evaluate(self._ls, x, self.normalize, self.normalization, e3nn_axes=True)

    def extra_repr(self) -> str:
        """Show the irreps and options."""
        return (
            f"{self.irreps_out}, normalize={self.normalize}, "
            f"normalization={self.normalization!r}, irreps_in={self.irreps_in}"
        )


def real_spherical_harmonics(lmax: int, x: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    r"""Standard real spherical harmonics (Wikipedia / sphericart), degrees 0..lmax.

    .. math::

        Y_{lm} = \begin{cases}
            \sqrt2\,(-1)^m\,\operatorname{Im} Y_l^{|m|} & m < 0\\
            Y_l^0 & m = 0\\
            \sqrt2\,(-1)^m\,\operatorname{Re} Y_l^m & m > 0
        \end{cases}

    with :math:`Y_l^m` the complex harmonics with the Condon-Shortley phase (scipy's), polar
    axis z, azimuth from x towards y. Orthonormal on the sphere ("integral"). Positive for
    m = l and m = -l near the +x/+y axes: :math:`Y_{1,-1}, Y_{1,0}, Y_{1,1} =
    \sqrt{3/4\pi}\,(y, z, x)`.

    Args:
        lmax: Highest degree (>= 0), any size.
        x: Vectors, shape ``(..., 3)`` as (x, y, z), float32 or float64, any device.
        normalize: Project on the unit sphere first (the zero vector gives 0 for l >= 1 with
            a zero gradient); ``False`` gives the solid harmonics :math:`|x|^l Y_{lm}(\hat x)`.
            For vectors already of unit length both give the same values.

    Returns:
        Shape ``(..., (lmax + 1)**2)``, column ``l*l + l + m`` holds :math:`Y_{lm}`.

    Raises:
        TypeError: If ``x`` is not a real floating tensor or ``lmax`` not an int.
        ValueError: If ``lmax < 0`` or ``x`` is not ``(..., 3)``.

    Example:
        >>> y = real_spherical_harmonics(1, torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
        >>> [round(v, 6) for v in y[0].tolist()]
        [0.282095, 0.0, 0.0, 0.488603]

    References:
        https://en.wikipedia.org/wiki/Table_of_spherical_harmonics#Real_spherical_harmonics;
        sphericart ``SphericalHarmonics(l_max).compute``.
    """
    lmax = check_int("lmax", lmax)
    x = _check_vectors(x)
    return _evaluate(range(lmax + 1), x, bool(normalize), "integral", e3nn_axes=False)
