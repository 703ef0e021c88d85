"""The refinement's L-BFGS: it minimises, follows the path of torch's own L-BFGS with a
strong-Wolfe line search, and refinement no longer imports torch._dynamo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_densitybuild.lbfgs import minimize, value_and_grad


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    return ((1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2).sum()


def test_rosenbrock_reaches_the_minimum():
    x0 = torch.tensor([[-1.2, 1.0], [0.5, -0.5]], dtype=torch.float64)
    x, f = minimize(value_and_grad(rosenbrock, x0.shape), x0.reshape(-1), max_iter=200)
    assert f < 1e-10
    assert torch.allclose(x, torch.ones(4, dtype=torch.float64), atol=1e-5)
    assert torch.equal(x0, torch.tensor([[-1.2, 1.0], [0.5, -0.5]], dtype=torch.float64))


@pytest.mark.parametrize("max_iter", [5, 30, 100])
def test_same_path_as_torch_lbfgs(max_iter):
    """A stiff, non-quadratic target like the refinement's: bonds (springs of rest length 1.5)
    between random points plus a smooth field; after any number of iterations the point is the
    one torch.optim.LBFGS(line_search_fn="strong_wolfe") reaches."""
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(40, 3, generator=gen, dtype=torch.float64) * 3
    i, j = torch.randint(0, 40, (2, 120), generator=gen)
    keep = i != j
    i, j = i[keep], j[keep]

    def energy(x: torch.Tensor) -> torch.Tensor:
        d = torch.linalg.norm(x[i] - x[j], dim=1)
        return (((d - 1.5) / 0.02) ** 2).sum() - 10 * torch.cos(x).sum()

    ours, f = minimize(value_and_grad(energy, start.shape), start.reshape(-1), max_iter)
    x = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        e = energy(x)
        e.backward()
        return e

    opt.step(closure)
    assert f < float(energy(start))
    np.testing.assert_allclose(ours.view(-1, 3).numpy(), x.detach().numpy(), atol=1e-6)
    assert abs(f - float(energy(x.detach()))) <= 1e-8 * abs(f)
    _, f1 = minimize(value_and_grad(energy, start.shape), start.reshape(-1), 1)
    assert f1 < 0.5 * float(energy(start))  # one line search


def test_stationary_start_and_evaluation_cap():
    calls = []

    def fg(x: torch.Tensor):
        calls.append(1)
        return float((x**2).sum()), 2 * x

    _, f = minimize(fg, torch.zeros(3, dtype=torch.float64))
    assert f == 0.0 and len(calls) == 1  # already at the minimum: one evaluation
    calls.clear()
    quad = value_and_grad(lambda y: ((y - 3) ** 4).sum(), (5,))

    def counted(x: torch.Tensor):
        calls.append(1)
        return quad(x)

    minimize(counted, torch.zeros(5, dtype=torch.float64), max_iter=8)
    assert len(calls) <= int(8 * 1.25) + 25  # the last line search may finish its bracket


def test_refinement_does_not_import_dynamo():
    """torch.optim imports torch._dynamo on first use (a second or more per process)."""
    root = Path(__file__).parents[1]
    code = (
        "import sys\n"
        "from napari_densitybuild.maps import read_map\n"
        "from napari_densitybuild.models import read_structure\n"
        "from napari_densitybuild.refine import atom_model, refine\n"
        f"m = atom_model(read_structure({str(root / 'sample_data' / 'sample_model.cif')!r}))\n"
        f"d = read_map({str(root / 'sample_data' / 'sample_map.mtz')!r})\n"
        "refine(m, d, iterations=3)\n"
        "assert 'torch._dynamo' not in sys.modules, 'refinement imported torch._dynamo'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
