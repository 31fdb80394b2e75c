"""The ``equibasis`` command: draw a basis, build the comparison report, check symmetries.

Each subcommand is one small handler over the library (:mod:`equibasis.plots`,
:mod:`equibasis.report`); heavy imports (matplotlib, plotly, e3nn) happen inside the handlers,
so ``equibasis --help`` is instant. :func:`main` takes the argument list and returns the exit
status, so it is testable without a subprocess.

Example:
    >>> main(["--version"])  # doctest: +ELLIPSIS
    equibasis ...
    0
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  equibasis plot radial --basis gaussian --preset dig -o gaussian.png
  equibasis plot radial --basis bessel --num-basis 8 --r-max 6 -o bessel.png
  equibasis plot angle --variant paper pyg -o angle.png      # DimeNet paper vs code
  equibasis plot torsion --variant dig consistent -o torsion.png
  equibasis plot harmonics --lmax 3 -o harmonics.png
  equibasis plot harmonics --lmax 3 --interactive -o harmonics.html
  equibasis report --out reports/            # the full comparison report (< 10 min)
  equibasis report --out quick/ --quick      # small sizes (< 1 min)
  equibasis check mypkg.models:make_model --outputs energy=0e forces=1o --atoms 50
                                             # check_model on your model (factory)
  equibasis check                            # rotation/mirror checks, non-zero exit on failure
  equibasis benchmark --quick --out bench/   # which basis makes the better model (< 5 min)
  equibasis benchmark --dataset ethanol --models schnet tfn-l2 --bases bessel-8 gaussian-50
"""

_STATIC_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


class _Usage(Exception):
    """A bad option: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) that :func:`main` turns into exit 2."""

    def error(self, message: str) -> NoReturn:
        raise _Usage(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, received {text!r}")
    return value


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, received {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _polar_options(
    parser: argparse.ArgumentParser,
    basis: str,
    sizes: tuple[int, int],
    variants: tuple[str, ...],
    default: tuple[str, ...],
) -> None:
    """The options the angle and torsion maps share: sizes, cutoff, variants."""
    n_l, n_r = sizes
    count = _int_at_least(1)
    parser.add_argument("--num-spherical", type=count, default=n_l, help=f"degrees l ({n_l})")
    parser.add_argument("--num-radial", type=count, default=n_r, help=f"radial functions ({n_r})")
    parser.add_argument("--cutoff", type=_positive_float, default=5.0, help="cutoff in Å (5)")
    parser.add_argument(
        "--variant",
        nargs="+",
        choices=variants,
        default=list(default),
        help=f"{basis} variant(s) ({' '.join(default)})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``equibasis`` command (plot, report, check, benchmark)."""
    from equibasis import __version__
    from equibasis.polar.variants import ANGLE_VARIANTS, TORSION_VARIANTS
    from equibasis.radial.registry import RADIAL_FAMILIES

    parser = _Parser(
        prog="equibasis",
        description="Geometric basis sets for molecular GNNs: figures, comparison report, checks.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"equibasis {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="{plot,report,check,benchmark}", parser_class=_Parser
    )
    # not required here: main checks it after the unrecognized arguments, so that
    # `equibasis --bogus` names --bogus instead of saying "arguments are required"
    commands.required = False

    plot = commands.add_parser(
        "plot",
        help="draw one basis into a file",
        description="Draw one basis into an image file (PNG, PDF, SVG; HTML for --interactive).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = plot.add_subparsers(
        dest="kind", metavar="{radial,angle,torsion,harmonics}", parser_class=_Parser
    )
    kinds.required = False  # checked in main, as above
    seed = _Parser(add_help=False)
    seed.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (0)")
    common = _Parser(add_help=False)
    common.add_argument("-o", "--output", required=True, type=Path, help="output file")
    common.add_argument("--dpi", type=_int_at_least(10), default=120, help="resolution (120)")

    radial = kinds.add_parser(
        "radial",
        parents=[common],
        help="radial basis curves",
        description="One curve per radial basis function over 0..r_max.",
    )
    radial.add_argument(
        "--basis",
        choices=tuple(RADIAL_FAMILIES),
        default="gaussian",
        help="which radial basis (gaussian)",
    )
    radial.add_argument(
        "--preset",
        choices=("schnet", "dig", "schnetpack"),
        help="Gaussian preset: schnet (300 centres), dig (50), schnetpack (20)",
    )
    radial.add_argument("--num-basis", type=_int_at_least(1), help="number of functions")
    radial.add_argument(
        "--num-spherical", type=_int_at_least(1), default=3, help="spherical-bessel degrees (3)"
    )
    radial.add_argument("--cutoff", type=_positive_float, default=5.0, help="cutoff in Å (5)")
    radial.add_argument("--r-max", type=_positive_float, help="largest distance drawn (cutoff)")

    angle = kinds.add_parser(
        "angle",
        parents=[common],
        help="DimeNet-style polar maps of the angle basis",
        description="Polar maps per (n, l): angle around, distance outward. Several --variant "
        "values are drawn side by side (e.g. --variant paper pyg).",
    )
    _polar_options(angle, "AngleBasis", (4, 3), ANGLE_VARIANTS, ("paper", "pyg"))

    torsion = kinds.add_parser(
        "torsion",
        parents=[common],
        help="polar maps of the torsion basis",
        description="Polar maps per (l, m) at a fixed angle theta: torsion around, distance "
        "outward.",
    )
    _polar_options(torsion, "TorsionBasis", (3, 2), TORSION_VARIANTS, ("dig", "consistent"))
    torsion.add_argument("--n", type=_int_at_least(1), default=1, help="radial index drawn (1)")
    torsion.add_argument("--theta", type=float, default=60.0, help="fixed angle in degrees (60)")

    harmonics = kinds.add_parser(
        "harmonics",
        parents=[common],
        help="real spherical harmonics as 3-D surfaces",
        description="Y_lm surfaces (radius |Y|, colour the sign); --interactive writes "
        "plotly HTML.",
    )
    harmonics.add_argument(
        "--lmax", type=_int_at_least(0), default=3, help="largest degree (3, at most 10)"
    )
    harmonics.add_argument(
        "--interactive",
        action="store_true",
        help="a self-contained plotly HTML file (needs the 'interactive' extra)",
    )

    report = commands.add_parser(
        "report",
        parents=[seed],
        help="build the comparison report",
        description="Write index.md, index.html and the figures of the comparison report.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--out", type=Path, default=Path("reports"), help="output folder (reports/)"
    )
    report.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    report.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    report.add_argument(
        "--benchmark", type=Path, default=None,
        help="folder of `equibasis benchmark` results to summarise (OUT/benchmark)",
    )  # fmt: skip

    commands._parser_class = _CheckParser  # argparse has no per-subcommand parser class
    check = commands.add_parser(
        "check",
        parents=[seed],
        help="rotation and mirror checks of the built-in bases, or of your model",
        description="Without a target: measure every built-in basis under random rotations "
        "and mirrors. With module:attribute (or path/file.py:attribute): run check_model on "
        "that model, or on what that factory returns (a model, or (model, example)). Prints a "
        "table; exit status 1 on a failure.",
    )
    check.add_argument(
        "target",
        nargs="?",
        help="module:attribute of a model or a factory (a class, or a function without "
        "required arguments)",
    )
    commands._parser_class = _Parser
    check.add_argument(
        "--outputs",
        nargs="+",
        metavar="KEY=TYPE",
        help="outputs to check, e.g. energy=0e forces=1o 'stress=cartesian 2-tensor' "
        "(0=0e for a model returning a tensor; default energy=0e forces=1o)",
    )
    check.add_argument("--forces-from", metavar="KEY", help="also check -d KEY / d positions")
    check.add_argument(
        "--example",
        choices=("dict", "data", "atoms", "args"),
        default="dict",
        help="the example built when the factory returns none: dict {pos, z, batch}, PyG "
        "Data(z, pos), ASE Atoms, or arguments (z, pos) (dict)",
    )
    check.add_argument(
        "--structure",
        type=Path,
        help="read the example's atoms (and cell, if periodic) from this file with ASE "
        "(xyz, extxyz, cif, POSCAR, ...) instead of building a cluster of --atoms atoms",
    )
    check.add_argument("--positions", help="name of the positions field of the example")
    check.add_argument("--no-parity", action="store_true", help="rotations only (chiral models)")
    check.add_argument("--atol", type=_positive_float, help="absolute tolerance")
    check.add_argument("--rtol", type=_positive_float, help="relative tolerance")
    check.add_argument(
        "--atoms", type=_int_at_least(4), default=8, help="atoms of the test molecule (8)"
    )
    check.add_argument(
        "--rotations", type=_int_at_least(1), default=3, help="random rotations and mirrors (3)"
    )
    _benchmark_parser(commands)
    return parser


def _writable_folder(folder: Path, command: str) -> None:
    """Create ``folder`` and write a probe file there, before any work: fail fast, one line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise _Usage(
            f"equibasis {command}: error: cannot write to {str(folder)!r} ({reason})"
        ) from None


def _benchmark_parser(commands: Any) -> None:
    """The ``benchmark`` subcommand's options."""
    from equibasis.radial.registry import RADIAL_FAMILIES

    bench = commands.add_parser(
        "benchmark",
        help="train small models on real molecules, one basis at a time",
        description="Train the reference models on QM9 / ethanol MD with each basis and write "
        "DIR/results.csv, DIR/benchmark.md and figures. Finished runs in DIR are reused.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument("--out", type=Path, default=Path("benchmark"), help="folder (benchmark/)")
    bench.add_argument("--quick", action="store_true", help="3 bases x 2 seeds, < 5 minutes")
    bench.add_argument(
        "--dataset",
        nargs="+",
        choices=("qm9", "qm9-full", "ethanol"),
        help="data sets (qm9 = the embedded subset; default: qm9 with --quick, else qm9 "
        "and ethanol; qm9-full needs the 'data' extra)",
    )
    bench.add_argument(
        "--models", nargs="+", help="schnet, dimenet++[-pyg|-dig], spherenet[-dig], tfn[-lN]"
    )
    bench.add_argument(
        "--bases",
        nargs="+",
        help=f"FAMILY[-K]: {', '.join(RADIAL_FAMILIES)} (e.g. gaussian-50)",
    )
    bench.add_argument("--seeds", nargs="+", type=_int_at_least(0), help="seeds (0 1 [2])")
    bench.add_argument("--n-train", type=_int_at_least(1), help="training molecules/frames")
    bench.add_argument("--epochs", type=_int_at_least(1), help="epochs per run")
    bench.add_argument("--device", default="cpu", help="torch device (cpu; cuda on a GPU)")
    bench.add_argument("--threads", type=_int_at_least(1), default=1, help="torch threads (1)")
    bench.add_argument(
        "--jobs", type=_int_at_least(1), default=1,
        help="runs trained at once, one process each (1; at most one per core)",
    )  # fmt: skip
    bench.add_argument(
        "--radial-scale", choices=("rms", "none"), default="rms",
        help="rms: the radial basis scaled to unit RMS over the training edges (default); "
        "none: as published",
    )  # fmt: skip
    bench.add_argument("--no-progress", action="store_true", help="no progress bars")


def _output(path: Path, suffixes: tuple[str, ...]) -> Path:
    if path.suffix.lower() not in suffixes:
        raise _Usage(
            f"equibasis plot: error: output file must end in one of {', '.join(suffixes)}, "
            f"received {str(path)!r}"
        )
    _writable_folder(path.parent, "plot")
    return path


def _radial_basis(args: argparse.Namespace) -> Any:
    from equibasis import radial

    if args.preset is not None:
        if args.basis != "gaussian":
            raise _Usage("equibasis plot radial: error: --preset applies to --basis gaussian only")
        return radial.GaussianRBF.preset(args.preset)
    if args.basis == "spherical-bessel":  # --num-basis counts the roots of each degree here
        count = (args.num_basis or 4) * args.num_spherical
        return radial.SphericalBesselRBF.from_num_basis(count, args.cutoff, args.num_spherical)
    return radial.radial_basis(args.basis, args.num_basis, args.cutoff)


def _plot(args: argparse.Namespace) -> int:
    from equibasis import plots

    if args.kind == "harmonics" and args.lmax > plots.MAX_HARMONICS_LMAX:
        # before the output folder is touched (plot_spherical_harmonics says the same)
        raise _Usage(
            f"equibasis plot harmonics: error: --lmax must be <= {plots.MAX_HARMONICS_LMAX} "
            f"(one 3-D panel per (l, m): {(args.lmax + 1) ** 2} panels, unreadable and slow), "
            f"received {args.lmax}"
        )
    if args.kind == "harmonics" and (args.lmax + 1) ** 2 > 16:
        print(f"drawing {(args.lmax + 1) ** 2} panels (about 0.25 s each) ...", file=sys.stderr)
    if args.kind == "harmonics" and args.interactive:
        path = _output(args.output, (".html",))
        fig = plots.plot_spherical_harmonics(args.lmax, interactive=True)
        fig.write_html(path, include_plotlyjs=True, full_html=True)
        print(f"wrote {path}")
        return 0
    path = _output(args.output, _STATIC_SUFFIXES)
    if args.kind == "radial":
        fig = plots.plot_radial_basis(_radial_basis(args), r_max=args.r_max)
    elif args.kind == "angle":
        fig = plots.plot_angle_variants(
            args.num_spherical, args.num_radial, args.cutoff, variants=tuple(args.variant)
        )
    elif args.kind == "torsion":
        fig = plots.plot_torsion_variants(
            args.num_spherical,
            args.num_radial,
            args.cutoff,
            variants=tuple(args.variant),
            n=args.n,
            theta=math.radians(args.theta),
        )
    else:
        fig = plots.plot_spherical_harmonics(args.lmax)
    fig.savefig(path, dpi=args.dpi)
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"wrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from equibasis.report import build_report

    out = args.out
    _writable_folder(out, "report")  # before minutes of measurements, not after
    command = f"equibasis report --out {out.as_posix()}" + (" --quick" if args.quick else "")
    command += f" --seed {args.seed}" if args.seed else ""
    # Build in a staging folder inside out and move the files into place at the end: an
    # interrupted run (Ctrl-C) leaves the previous report whole, never an old index.md beside
    # new figures. The HTML page embeds its figures, so it does not refer to the staging path.
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        built = build_report(
            staging,
            quick=args.quick,
            seed=args.seed,
            progress=not args.no_progress,
            command=command,
            benchmark=args.benchmark if args.benchmark is not None else out / "benchmark",
        )
        names = sorted(
            p.name for p in staging.iterdir() if p.name not in ("index.md", "index.html")
        )
        # figures first, the pages that show them last
        for name in [*names, "index.html", built.name]:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    index = out / built.name
    print(f"wrote {index} and {index.with_suffix('.html')}")
    return 0


class _CheckParser(_Parser):
    """The ``check`` parser: its optional target never swallows an unknown option's value.

    In ``equibasis check --bogus 1`` argparse would take ``1`` as the target; a target without
    ``:`` next to unrecognised arguments is given back to them, so the error names
    ``--bogus 1``.
    """

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[Any, list]:
        ns, extras = super().parse_known_args(args, namespace)
        target = getattr(ns, "target", None)
        if extras and isinstance(target, str) and ":" not in target:
            extras, ns.target = [*extras, target], None
        return ns, extras


def _key(text: str) -> object:
    return int(text) if text.lstrip("-").isdigit() else text


def _load_target(target: str) -> Any:
    """The object named by ``module:attribute`` or ``path/to/file.py:attribute``."""
    import importlib
    import importlib.util
    import os

    module_name, sep, attribute = target.rpartition(":")
    if not sep or not module_name or not attribute:
        raise _Usage(
            f"equibasis check: error: target must be module:attribute, received {target!r}"
        )
    try:
        if module_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if spec is None or spec.loader is None or not Path(module_name).is_file():
                raise ImportError(f"no file {module_name!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:  # as `python -m` does: the current folder first
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise _Usage(f"equibasis check: error: cannot import {module_name!r}: {error}") from None
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise _Usage(f"equibasis check: error: {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    return obj


def _model_and_example(obj: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    import inspect

    import torch

    factory = inspect.isclass(obj) or (
        inspect.isfunction(obj)
        and not [
            p
            for p in inspect.signature(obj).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    )
    made = obj() if factory else obj
    if isinstance(made, tuple) and len(made) == 2 and callable(made[0]):
        return made
    if isinstance(made, torch.nn.Module):
        made.eval()
    pos, z, cell = _structure(args)
    if args.example == "data":
        try:
            from torch_geometric.data import Data
        except ImportError:
            raise ImportError(
                "--example data needs torch_geometric (pip install 'equibasis[bench]')"
            ) from None
        return made, Data(z=z, pos=pos) if cell is None else Data(z=z, pos=pos, cell=cell)
    if args.example == "atoms":
        try:
            import ase
        except ImportError:
            raise ImportError(
                "--example atoms needs ase (pip install 'equibasis[bench]')"
            ) from None
        if cell is None:
            return made, ase.Atoms(numbers=z.numpy(), positions=pos.numpy())
        return made, ase.Atoms(numbers=z.numpy(), positions=pos.numpy(), cell=cell, pbc=True)
    if args.example == "args":
        return made, (z, pos) if cell is None else (z, pos, cell)
    example = {"pos": pos, "z": z, "batch": torch.zeros_like(z)}
    return made, example if cell is None else {**example, "cell": cell}


def _structure(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(positions, atomic numbers, cell or None): from --structure, else a cluster."""
    import torch

    if args.structure is None:
        from equibasis.testing.strategies import cluster

        mol = cluster(args.atoms, seed=args.seed)
        return mol.positions, mol.numbers, None
    try:
        import ase.io
    except ImportError:
        raise ImportError("--structure needs ase (pip install 'equibasis[bench]')") from None
    try:
        atoms = ase.io.read(args.structure)
    except (OSError, ValueError, KeyError) as error:  # missing file, unknown format
        raise _Usage(
            f"equibasis check: error: cannot read {str(args.structure)!r}: {error}"
        ) from None
    pos = torch.tensor(atoms.get_positions(), dtype=torch.float64)
    z = torch.tensor(atoms.numbers, dtype=torch.int64)
    periodic = bool(atoms.pbc.any())
    cell = torch.tensor(atoms.cell.array, dtype=torch.float64) if periodic else None
    return pos, z, cell


def _check_model(args: argparse.Namespace) -> int:
    import torch

    from equibasis.testing.model_check import ModelCheckError, check_model

    model, example = _model_and_example(_load_target(args.target), args)
    outputs = None
    if args.outputs:
        outputs = {}
        for item in args.outputs:
            key, sep, kind = item.partition("=")
            if not sep or not key:
                raise _Usage(f"equibasis check: error: --outputs takes KEY=TYPE, received {item!r}")
            outputs[_key(key)] = None if kind in ("", "None") else kind
    forces_from = None if args.forces_from is None else _key(args.forces_from)
    try:
        report = check_model(
            model,
            example,
            positions=None if args.positions is None else _key(args.positions),
            outputs=outputs,
            forces_from=forces_from,
            parity=not args.no_parity,
            ntrials=args.rotations,
            atol=args.atol,
            rtol=args.rtol,
            generator=torch.Generator().manual_seed(args.seed),
        )
    except ModelCheckError as error:
        print(error.report.to_markdown())
        print(str(error), file=sys.stderr)
        return 1
    print(report.to_markdown())
    print(f"all {len(report.rows)} checks passed")
    return 0


def _check(args: argparse.Namespace) -> int:
    if args.target is not None:
        return _check_model(args)
    from equibasis.report import measure_symmetry

    table = measure_symmetry(num_atoms=args.atoms, num_rotations=args.rotations, seed=args.seed)
    print(table.to_markdown())
    failed = [r.basis for r in table.rows if not r.ok]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(table.rows)} bases behave as documented")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from equibasis.benchmark import run_benchmark
    from equibasis.benchmark.spec import parse_basis, parse_model

    for name in args.models or ():
        parse_model(name)  # a bad name is a usage error before any training
    for name in args.bases or ():
        parse_basis(name)
    datasets = args.dataset or (["qm9"] if args.quick else ["qm9", "ethanol"])
    command = " ".join(["equibasis benchmark", *(sys.argv[2:] if args.argv is None else args.argv)])
    page = run_benchmark(
        args.out,
        datasets,
        quick=args.quick,
        models=args.models,
        bases=args.bases,
        seeds=args.seeds,
        n_train=args.n_train,
        epochs=args.epochs,
        device=args.device,
        threads=args.threads,
        jobs=args.jobs,
        radial_scale=args.radial_scale,
        progress=not args.no_progress,
        command=command,
    )
    print(f"wrote {args.out / 'results.csv'} and {page}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``equibasis`` command with ``argv`` (default: ``sys.argv[1:]``).

    Args:
        argv: The arguments after the program name.

    Returns:
        The exit status: 0 on success, 1 when ``check`` finds a failure, 2 for bad options or
        an output that cannot be written (reported as one line on stderr, no traceback, checked
        before any work), 130 when interrupted (Ctrl-C).
    """
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        if args.command is None:
            parser.error("the following arguments are required: {plot,report,check,benchmark}")
        if args.command == "plot" and args.kind is None:
            raise _Usage(
                "equibasis plot: error: the following arguments are required: "
                "{radial,angle,torsion,harmonics} (see 'equibasis plot --help')"
            )
        if args.command == "benchmark":
            args.argv = None if argv is None else argv[1:]
        if args.command in ("plot", "report", "benchmark"):
            from equibasis._optional import require

            extra = {"plot": "plots"}.get(args.command, args.command)
            matplotlib = require("matplotlib", extra, f"equibasis {args.command}")
            matplotlib.use("Agg")  # a command-line run never opens windows
        handler = {"plot": _plot, "report": _report, "check": _check, "benchmark": _benchmark}[
            args.command
        ]
        return handler(args)
    except _Usage as error:
        print(str(error), file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except (ValueError, TypeError) as error:  # a value the library rejects, e.g. num_basis
        print(f"equibasis: error: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"equibasis: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's status for SIGINT
        print("equibasis: interrupted", file=sys.stderr)
        return 130
