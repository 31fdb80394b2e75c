"""Assembly of the report: run the sections of the registry, write ``index.md`` and the page."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from equibasis._optional import tqdm_class

from .context import Context
from .html_page import anchor, markdown_to_html, require_markdown
from .registry import SECTIONS, SectionSpec
from .run_info import RunInfo

__all__ = ["Section", "build_report"]

_TITLE = "equibasis comparison report"

_INTRO = (
    "Polar bases (Gaussian, Bessel, DimeNet/SphereNet angle and torsion bases) feed a "
    "network scalars: distances, angles and torsions, so they are invariant by "
    "construction, and the torsion ones also see mirror images. Equivariant bases "
    "(spherical harmonics, tensor-field embeddings) keep the direction and transform "
    "predictably instead. Every number below was measured when this report was built."
)


@dataclass(frozen=True)
class Section:
    """A titled piece of Markdown; ``available`` is False when its modules were missing."""

    title: str
    body: str
    available: bool = True
    seconds: float = 0.0

    def to_markdown(self) -> str:
        """``## title`` followed by the body."""
        return f"## {self.title}\n\n{self.body.strip()}\n"


def _run(spec: SectionSpec, context: Context) -> Section:
    """One section, timed; a failure becomes a "not available" body, never lost sections."""
    start = time.perf_counter()
    try:
        body, available = spec.function(context), True
    except (ImportError, AttributeError, NotImplementedError, FileNotFoundError) as error:
        body, available = f"not available: {type(error).__name__}: {error}", False
    except Exception as error:  # one failed section must not lose the rest
        body, available = (
            f"not available: the measurement failed ({type(error).__name__}: {error})",
            False,
        )
    return Section(spec.title, body, available, time.perf_counter() - start)


def _progress_bar(tqdm: Any) -> Any:
    """``equibasis report [####----] 2/6 symmetry (00:05)`` on stderr, or None."""
    if tqdm is None:
        return None
    bar_format = "equibasis report [{bar:24}] {n_fmt}/{total_fmt} {desc} ({elapsed})"
    return tqdm(total=len(SECTIONS), desc=SECTIONS[0].key, bar_format=bar_format, ascii="-#")


def build_report(
    out: str | Path = "reports",
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    command: str | None = None,
    benchmark: str | Path | None = None,
) -> Path:
    """Build the report into ``out``: ``index.md``, ``index.html`` and the PNG figures.

    Args:
        out: Output folder (created if needed); existing files of the same names are replaced.
        quick: Small sizes and few repeats (under a minute on 2 cores).
        seed: Seed of every random input.
        progress: Show a progress bar on stderr (needs tqdm).
        command: The command line written at the top (default: the equivalent CLI call).
        benchmark: Folder of the ``equibasis benchmark`` results the report summarises
            (default ``out/benchmark``); read, never trained.

    Returns:
        The path of ``index.md``.

    Raises:
        ImportError: markdown is not installed, or tqdm with ``progress`` (both before any
            measurement).
    """
    require_markdown()
    bar = _progress_bar(tqdm_class(progress, extra="report"))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if command is None:
        command = f"equibasis report --out {out.as_posix()}" + (" --quick" if quick else "")
        command += f" --seed {seed}" if seed else ""
    torch.manual_seed(seed)
    benchmark = out / "benchmark" if benchmark is None else Path(benchmark)
    context = Context(out=out, quick=quick, seed=seed, benchmark=benchmark)
    sections = []
    for spec in SECTIONS:
        if bar is not None:
            bar.set_description_str(spec.key)
        sections.append(_run(spec, context))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.set_description_str("done")
        bar.close()

    contents = "\n".join(
        f"- [{s.title}](#{anchor(s.title)})" + ("" if s.available else " (not available)")
        for s in sections
    )
    times = ", ".join(
        f"{spec.key} {s.seconds:.1f} s" for spec, s in zip(SECTIONS, sections, strict=True)
    )
    markdown = "\n\n".join(
        [
            f"# {_TITLE}",
            RunInfo.collect(command, seed, quick).to_markdown(),
            _INTRO,
            "Contents:\n\n" + contents,
            *(s.to_markdown() for s in sections),
            f"---\nSection times: {times}.",
        ]
    )
    index = out / "index.md"
    index.write_text(markdown.strip() + "\n", encoding="utf-8")
    page = markdown_to_html(markdown, base=out, title=_TITLE)
    (out / "index.html").write_text(page, encoding="utf-8")
    return index
