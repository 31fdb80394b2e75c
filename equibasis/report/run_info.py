"""The first lines of the report: how, where and with what it was made."""

import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from equibasis.benchmarking import machine_description

__all__ = ["RunInfo"]


@dataclass(frozen=True)
class RunInfo:
    """How, where and with what the report was made (its first lines)."""

    command: str
    equibasis_version: str
    torch_version: str
    e3nn_version: str
    python_version: str
    git_commit: str
    device: str
    dtype: str
    seed: int
    machine: str
    date: str
    quick: bool

    @classmethod
    def collect(cls, command: str, seed: int, quick: bool, dtype: str = "float64") -> "RunInfo":
        """Read the versions, commit and machine of the running process."""
        import equibasis

        try:
            import e3nn

            e3nn_version = e3nn.__version__
        except ImportError:  # pragma: no cover - e3nn is a dependency
            e3nn_version = "not installed"
        return cls(
            command=command,
            equibasis_version=equibasis.__version__,
            torch_version=torch.__version__,
            e3nn_version=e3nn_version,
            python_version=platform.python_version(),
            git_commit=_git_commit(),
            device="cpu",
            dtype=dtype,
            seed=seed,
            machine=machine_description(),
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            quick=quick,
        )

    def to_markdown(self) -> str:
        """The header block of the report."""
        lines = [
            "Regenerate with:",
            "",
            "```",
            self.command,
            "```",
            "",
            f"- equibasis {self.equibasis_version}, torch {self.torch_version}, "
            f"e3nn {self.e3nn_version}, Python {self.python_version}",
            f"- git commit: {self.git_commit}",
            f"- device: {self.device}; dtype: {self.dtype} (accuracy and symmetry tables), "
            f"float32 (speed); seed: {self.seed}",
            f"- machine: {self.machine}",
            f"- built: {self.date}"
            + (" (quick mode: small sizes, few repeats)" if self.quick else ""),
        ]
        return "\n".join(lines)


def _git_commit() -> str:
    """The checkout's commit (``equibasis/report/`` is two folders below its root)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "not available (not a git checkout)"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "not available (git failed)"
    return commit + (" (with uncommitted changes)" if dirty else "")
