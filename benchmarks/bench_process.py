"""equibasis as a guest in the user's process: first-call time and the user's own code beside it.

1. A fresh interpreter's first calls, import included: harmonics lmax 8 forward + backward at
   10^5 vectors and one ``AngleBasis`` call (the target is 10 s; equibasis compiles nothing).
2. The user's own small torch ops (200 matmuls of 64 x 64 with tanh) timed before and after
   the bases ran, idle and with one busy process beside (``--busy``): the ratio after / before
   should stay near 1 (a second thread runtime once made it 17-35x).

Usage: ``python benchmarks/bench_process.py [--busy]``
"""

import argparse
import subprocess
import sys
import time

_FIRST_CALL = """
import time
start = time.perf_counter()
import torch
import equibasis as eb
imported = time.perf_counter()
x = torch.randn(100000, 3, requires_grad=True)
eb.spherical_harmonics(list(range(9)), x).sum().backward()
harmonics = time.perf_counter()
eb.AngleBasis(7, 6, 5.0)(4.9 * torch.rand(20000) + 0.05, 3.1 * torch.rand(20000))
end = time.perf_counter()
print(f"{imported - start:.2f} {harmonics - imported:.2f} {end - harmonics:.2f} {end - start:.2f}")
"""

_USER_CODE = """
import time, statistics, torch

def user_code():
    a = torch.randn(64, 64)
    t = time.perf_counter()
    for _ in range(200):
        a = (a @ a).tanh()
    return time.perf_counter() - t

before = statistics.median(user_code() for _ in range(9))
import equibasis as eb
x = torch.randn(100000, 3)
eb.spherical_harmonics(list(range(9)), x)
eb.AngleBasis(7, 6, 5.0)(4.9 * torch.rand(20000) + 0.05, 3.1 * torch.rand(20000))
eb.TorsionBasis(7, 6, 5.0)(4.9 * torch.rand(20000), 3.1 * torch.rand(20000), torch.rand(20000))
after = statistics.median(user_code() for _ in range(9))
print(f"{before * 1e3:.2f} {after * 1e3:.2f} {after / before:.2f}")
"""


def main(argv: list[str] | None = None) -> int:
    """Print both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", action="store_true", help="one busy process beside")
    args = parser.parse_args(argv)
    neighbour = None
    if args.busy:
        neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        first = subprocess.run([sys.executable, "-c", _FIRST_CALL], capture_output=True,
                               text=True, check=True).stdout.split()  # fmt: skip
        user = subprocess.run([sys.executable, "-c", _USER_CODE], capture_output=True,
                              text=True, check=True).stdout.split()  # fmt: skip
    finally:
        if neighbour is not None:
            neighbour.kill()
    load = "one busy process beside" if args.busy else "no added load"
    print(f"fresh process ({load}): import {first[0]} s, harmonics lmax 8 fwd+bwd at 1e5 "
          f"{first[1]} s, AngleBasis {first[2]} s, total {first[3]} s")  # fmt: skip
    print(f"user's 200 matmuls: {user[0]} ms before equibasis ran, {user[1]} ms after "
          f"(ratio {user[2]})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
