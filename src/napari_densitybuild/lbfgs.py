"""L-BFGS with a strong-Wolfe line search, for the real-space refinement.

Refinement minimises one smooth target over a few thousand coordinates, 30 iterations at a
time. ``torch.optim.LBFGS`` does the same, but constructing any ``torch.optim`` optimiser
imports ``torch._dynamo`` on first use (1.3 s on a 2-core CPU, more where CUDA is present),
which every fresh ``densitybuild build`` process paid for; this module needs nothing beyond
tensors and autograd. The algorithm is the textbook one (Nocedal and Wright, Numerical
Optimization, 2nd ed.: the two-loop recursion, Algorithm 7.4; the line search with zoom,
Algorithms 3.5 and 3.6, with cubic interpolation), with the conventions of the optimiser it
replaces: the first step scaled by ``min(1, 1 / |g|_1)``, up to 100 correction pairs, and at
most ``1.25 * max_iter`` evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: ``f(x) -> (value, gradient)`` of a flat tensor.
ValueGrad = Callable[[torch.Tensor], tuple[float, torch.Tensor]]

#: Sufficient decrease (Armijo) and curvature constants of the strong Wolfe conditions.
C1, C2 = 1e-4, 0.9


def value_and_grad(
    energy: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, ...]
) -> ValueGrad:
    """Wrap ``energy`` (a scalar tensor function of a tensor of ``shape``) as a
    :data:`ValueGrad` of the flat vector."""

    def fg(flat: torch.Tensor) -> tuple[float, torch.Tensor]:
        x = flat.detach().view(shape).requires_grad_(True)
        e = energy(x)
        (g,) = torch.autograd.grad(e, x)
        return float(e.detach()), g.reshape(-1)

    return fg


def minimize(
    fg: ValueGrad,
    x0: torch.Tensor,
    max_iter: int = 30,
    history: int = 100,
    tolerance_grad: float = 1e-7,
    tolerance_change: float = 1e-9,
) -> tuple[torch.Tensor, float]:
    """Minimise with L-BFGS from ``x0`` (flat); returns the last point and its value.

    Parameters
    ----------
    fg
        Value and gradient (:data:`ValueGrad`).
    x0
        Start (1-D tensor, not modified).
    max_iter
        Iterations (line searches); evaluations are capped at 1.25 times this.
    history
        Correction pairs kept.
    tolerance_grad, tolerance_change
        Stop when the largest gradient component, or the change of the point or the value,
        falls under these.
    """
    x = x0.detach().clone()
    f, g = fg(x)
    evals, max_evals = 1, int(max_iter * 1.25)
    if float(g.abs().max()) <= tolerance_grad:
        return x, f
    pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []
    d = -g
    gamma = 1.0
    for it in range(max_iter):
        gtd = float(g.dot(d))
        if gtd > -tolerance_change:
            break
        t = min(1.0, 1.0 / float(g.abs().sum())) if it == 0 else 1.0
        t, f_new, g_new, n = _strong_wolfe(fg, x, t, d, f, g, gtd, tolerance_change)
        evals += n
        step = t * d
        x = x + step
        y = g_new - g
        ys = float(y.dot(step))
        if ys > 1e-10:
            if len(pairs) == history:
                pairs.pop(0)
            pairs.append((step, y, 1.0 / ys))
            gamma = ys / float(y.dot(y))
        f_old, f, g = f, f_new, g_new
        if (evals >= max_evals or float(g.abs().max()) <= tolerance_grad
                or float(step.abs().max()) <= tolerance_change
                or abs(f - f_old) < tolerance_change):  # fmt: skip
            break
        d = _direction(g, pairs, gamma)
    return x, f


def _direction(g: torch.Tensor, pairs: list, gamma: float) -> torch.Tensor:
    """-H g by the two-loop recursion, H0 = gamma I."""
    q = -g
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s.dot(q))
        q = q - a * y
        alphas.append(a)
    q = q * gamma
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        b = rho * float(y.dot(q))
        q = q + (a - b) * s
    return q


def _cubic_min(
    t1: float, f1: float, g1: float, t2: float, f2: float, g2: float, lo: float, hi: float
) -> float:
    """Minimiser in [lo, hi] of the cubic through (t1, f1) and (t2, f2) with slopes g1, g2."""
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
    disc = d1 * d1 - g1 * g2
    if disc < 0.0:
        return (lo + hi) / 2.0
    d2 = math.copysign(math.sqrt(disc), t2 - t1)
    denom = g2 - g1 + 2.0 * d2
    if denom == 0.0:
        return (lo + hi) / 2.0
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / denom
    return min(max(t, lo), hi)


def _strong_wolfe(
    fg: ValueGrad,
    x: torch.Tensor,
    t: float,
    d: torch.Tensor,
    f0: float,
    g0: torch.Tensor,
    gtd0: float,
    tolerance_change: float,
    max_ls: int = 25,
):
    """Step length along ``d`` meeting the strong Wolfe conditions (or the best found):
    (t, f, g, evaluations)."""
    d_max = float(d.abs().max())
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    f_t, g_t = fg(x + t * d)
    n = 1
    for i in range(max_ls):
        gtd_t = float(g_t.dot(d))
        if f_t > f0 + C1 * t * gtd0 or (i > 0 and f_t >= f_prev):
            lo, hi = (t_prev, f_prev, g_prev, gtd_prev), (t, f_t, g_t, gtd_t)
            return _zoom(fg, x, d, f0, gtd0, lo, hi, n, d_max, tolerance_change, max_ls)
        if abs(gtd_t) <= -C2 * gtd0:
            return t, f_t, g_t, n
        if gtd_t >= 0:
            lo, hi = (t, f_t, g_t, gtd_t), (t_prev, f_prev, g_prev, gtd_prev)
            return _zoom(fg, x, d, f0, gtd0, lo, hi, n, d_max, tolerance_change, max_ls)
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_t, gtd_t, t + 0.01 * (t - t_prev),
                            10.0 * t)  # fmt: skip
        t_prev, f_prev, g_prev, gtd_prev = t, f_t, g_t, gtd_t
        t = t_next
        f_t, g_t = fg(x + t * d)
        n += 1
    return t, f_t, g_t, n


def _zoom(
    fg: ValueGrad,
    x: torch.Tensor,
    d: torch.Tensor,
    f0: float,
    gtd0: float,
    lo: tuple[float, float, torch.Tensor, float],
    hi: tuple[float, float, torch.Tensor, float],
    n: int,
    d_max: float,
    tolerance_change: float,
    max_ls: int,
):
    """Shrink the bracket [lo, hi] (tuples t, f, g, slope; lo the lower value) to a strong
    Wolfe step: (t, f, g, evaluations)."""
    for _ in range(max_ls):
        if abs(hi[0] - lo[0]) * d_max < tolerance_change:
            break
        a, b = min(lo[0], hi[0]), max(lo[0], hi[0])
        t = _cubic_min(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3], a, b)
        margin = 0.1 * (b - a)
        if t - a < margin or b - t < margin:  # too near an end: bisect instead
            t = (a + b) / 2.0
        f_t, g_t = fg(x + t * d)
        n += 1
        gtd_t = float(g_t.dot(d))
        if f_t > f0 + C1 * t * gtd0 or f_t >= lo[1]:
            hi = (t, f_t, g_t, gtd_t)
            continue
        if abs(gtd_t) <= -C2 * gtd0:
            return t, f_t, g_t, n
        if gtd_t * (hi[0] - lo[0]) >= 0:
            hi = lo
        lo = (t, f_t, g_t, gtd_t)
    return lo[0], lo[1], lo[2], n
