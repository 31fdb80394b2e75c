"""equibasis as a guest in the user's process: threads, fork, read-only installs, no caches."""

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import equibasis

PACKAGE = Path(equibasis.__file__).parent

# Every basis family once, with and without gradients (run in a fresh interpreter).
_WORKLOAD = """
import torch
import equibasis as eb

def workload():
    gen = torch.Generator().manual_seed(0)
    vec = torch.randn(2000, 3, generator=gen)
    dist = 0.1 + 4.8 * torch.rand(500, generator=gen)
    angle = 3.1 * torch.rand(1000, generator=gen)
    phi = 6.2 * torch.rand(1000, generator=gen) - 3.1
    idx = torch.randint(0, 500, (1000,), generator=gen)
    total = 0.0
    for grad in (False, True):
        v = vec.clone().requires_grad_(grad)
        d = dist.clone().requires_grad_(grad)
        outs = [
            eb.spherical_harmonics(list(range(9)), v),
            eb.AngleBasis(7, 6, 5.0, variant="pyg")(d, angle, idx),
            eb.TorsionBasis(7, 6, 5.0, variant="dig")(d, angle, phi, idx),
            *eb.EdgeEmbedding(3, eb.GaussianRBF(50, 5.0))(v),
            eb.BesselRBF(8, 5.0)(d),
        ]
        value = sum(o.where(torch.isfinite(o), 0.0).sum() for o in outs)
        if grad:
            value.backward()
        total += float(value)
    return total
"""


def _run(script: str, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", _WORKLOAD + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_torch_thread_settings_untouched():
    """equibasis never changes torch's settings: one thread stays one, two stay two."""
    done = _run(
        """
        for threads in (1, 2):
            torch.set_num_threads(threads)
            workload()
            assert torch.get_num_threads() == threads, (threads, torch.get_num_threads())
            assert torch.get_default_dtype() == torch.float32
        print("ok")
        """
    )
    assert done.stdout.strip().endswith("ok")


def test_forked_children_finish_with_the_parents_numbers():
    """After the bases ran in the parent, forked children (multiprocessing, DataLoader workers)
    compute the same numbers and exit (a numba runtime once hung them in libgomp).

    A forked child runs torch on one thread, as DataLoader workers do: torch's own GNU OpenMP
    pool cannot be used after a fork (plain torch hangs there too), which is torch's rule, not
    one equibasis adds.
    """
    done = _run(
        """
        import multiprocessing

        def child(queue):
            torch.set_num_threads(1)
            queue.put(workload())

        class Data(torch.utils.data.Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, k):
                vec = torch.randn(100, 3, generator=torch.Generator().manual_seed(k))
                return eb.spherical_harmonics(4, vec).sum()

        if __name__ == "__main__":
            want = workload()
            context = multiprocessing.get_context("fork")
            queue = context.Queue()
            processes = [context.Process(target=child, args=(queue,)) for _ in range(2)]
            for process in processes:
                process.start()
            values = [queue.get(timeout=120) for _ in processes]
            for process in processes:
                process.join(60)
                assert process.exitcode == 0, process.exitcode
            assert all(abs(v - want) <= 1e-5 * abs(want) for v in values), (values, want)
            loader = torch.utils.data.DataLoader(
                Data(), batch_size=2, num_workers=2, multiprocessing_context="fork"
            )
            got = torch.cat(list(loader))
            ref = torch.stack([Data()[k] for k in range(4)])
            assert torch.allclose(got, ref), (got, ref)
            print("ok")
        """
    )
    assert done.stdout.strip().endswith("ok")


def _read_only_copy(tmp_path: Path) -> Path:
    """The package copied into a folder nobody may write to (bytecode caches left out)."""
    root = tmp_path / "site"
    shutil.copytree(PACKAGE, root / "equibasis", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return root


def _fingerprint(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


_READ_ONLY_SCRIPT = """
import equibasis
assert equibasis.__file__.startswith(SITE), equibasis.__file__
workload()
print("ok")
"""


def _environment(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NUMBA_"))}
    env.update(
        PYTHONPATH=str(site),
        HOME="/nonexistent",  # no writable home, no cache folder
        XDG_CACHE_HOME="/nonexistent/cache",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def test_read_only_install_without_a_home(tmp_path):
    """From a read-only copy, with no writable home or cache, every basis works and nothing is
    written into the install (equibasis keeps no cache)."""
    site = _read_only_copy(tmp_path)
    before = _fingerprint(site)
    script = f"SITE = {str(site)!r}\n" + _READ_ONLY_SCRIPT
    done = _run(script, env=_environment(site), cwd=tmp_path)
    assert done.stdout.strip().endswith("ok")
    assert _fingerprint(site) == before


def test_read_only_install_as_an_unprivileged_user(tmp_path):
    """The same as a user who may not write anywhere (skipped where privileges cannot be
    dropped, or where that user cannot reach this Python)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges to an unprivileged user")
    nobody = 65534
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import torch"],
            user=nobody,
            group=nobody,
            capture_output=True,
            env={"HOME": "/nonexistent", "PATH": os.environ.get("PATH", "")},
            cwd="/",
        )
        reachable = probe.returncode == 0
    except PermissionError:  # the interpreter itself lies in a private folder
        reachable = False
    if not reachable:
        pytest.skip("the unprivileged user cannot run this Python and torch (a private prefix)")
    tmp_path.chmod(0o755)
    site = _read_only_copy(tmp_path)
    script = f"SITE = {str(site)!r}\n" + _READ_ONLY_SCRIPT
    done = _run(script, env=_environment(site), cwd="/", user=nobody, group=nobody)
    assert done.stdout.strip().endswith("ok")


def test_schnet_preset_gaussians_at_8_3_angstrom():
    """EdgeEmbedding with SchNet's 300 Gaussians at r = 8.3 Å: the same non-zero features with
    and without gradients (a hand-written exp once flushed them to 0 without), equal to the
    formula."""
    radial = equibasis.GaussianRBF.preset("schnet")
    embed = equibasis.EdgeEmbedding(0, radial)
    vec = torch.tensor([[8.3, 0.0, 0.0], [0.0, 4.0, -7.27]])
    r = vec.double().norm(dim=-1, keepdim=True)
    centres = torch.linspace(0.0, 29.9, 300, dtype=torch.float64)
    cutoff = equibasis.PolynomialCutoff(29.9, p=6)(r)
    want = torch.exp(-((r - centres) ** 2) / (2 * 0.05)) * cutoff
    plain, _ = embed(vec)
    graded, _ = embed(vec.clone().requires_grad_())
    assert plain.max() > 0.99
    # float32 r = 8.3 is off by 2e-7 Å and the slope is up to 2.7 per Å (sigma^2 = 0.05)
    torch.testing.assert_close(plain.double(), want, rtol=0, atol=2e-6)
    torch.testing.assert_close(graded.detach(), plain, rtol=0, atol=0)
