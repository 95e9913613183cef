"""Maximum likelihood for small models with an analytic gradient: a bounded Newton
maximiser, the Wald SE from its Hessian, and the profile-likelihood interval with the
likelihood-ratio p-value of one parameter.

A model is any object with ``loglike_and_grad(params) -> (loglik, gradient)``; the last
parameter may be bounded (a log variance), the others are free.

Profile likelihood: interval {β : 2(ℓ_max − ℓ_p(β)) <= χ²_1(level)} with ℓ_p(β) = max over
the other parameters (Pawitan 2001, In All Likelihood, sec. 3.4); LR p = χ²_1 sf of
2(ℓ_max − ℓ_p(0)). Each endpoint is the root of g(β) = ℓ_max − ℓ_p(β) − χ²_1(level)/2 found
by Brent's method (``scipy.optimize.brentq``) on a bracket grown outwards from the Wald
endpoint β̂ ± z·SE (by the quadratic extrapolation of g, at least ×1.2 a step). Every refit
starts from the optimum of the nearest β already fitted, so the nuisance parameters are
followed along the profile path as in Venzon & Moolgavkar (1988, Appl Stat 37:87), who take
Newton steps along that path instead of re-optimising; here each refit is a few Newton
iterations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

__all__ = ["maximise", "wald_se", "profile_interval"]


def hessian(model, params, h=1e-5, idx=None):
    """Central-difference Hessian of the analytic gradient over the parameters ``idx``
    (default all), symmetrised."""
    idx = np.arange(params.size) if idx is None else np.asarray(idx)
    H = np.empty((idx.size, idx.size))
    for r, i in enumerate(idx):
        e = np.zeros(params.size)
        e[i] = h * max(1.0, abs(params[i]))
        up, down = model.loglike_and_grad(params + e)[1], model.loglike_and_grad(params - e)[1]
        H[r] = (up[idx] - down[idx]) / (2 * e[i])
    return (H + H.T) / 2


def _active(x, g, free, last, bounds):
    """Free parameters except the last (bounded) one held at a bound it pushes against
    (or whose gradient there is below 10⁻⁶: rounding in a flat region)."""
    lo, hi = bounds
    held = (x[last] <= lo and g[last] < 1e-6) or (x[last] >= hi and g[last] > -1e-6)
    return free[~((free == last) & held)]


def maximise(model, start, bounds, fixed: dict[int, float] | None = None, gtol=1e-8, max_iter=200):
    """Maximise ``model.loglike_and_grad`` over the parameters not in ``fixed`` (index →
    value), the last one kept within ``bounds`` = (lo, hi): Newton's method on the
    analytic gradient with the Hessian by central differences of it (:func:`hessian`),
    Levenberg–Marquardt damping where −H is not positive definite, a backtracking
    (Armijo) line search, and projection onto the bounds, where a last parameter whose
    gradient points outwards is held (Nocedal & Wright 2006, Numerical Optimization, ch. 3
    and sec. 16.7); the lower bound is tried first when a parameter below −2 heads there.
    Stops when every free gradient component is below ``gtol`` or the Newton decrement
    g'(−H)⁻¹g, twice the predicted gain, is below 1e-14 (Boyd & Vandenberghe 2004, Convex
    Optimization, sec. 9.5.1).
    Returns (params, loglik, converged)."""
    fixed = fixed or {}
    x = np.asarray(start, float).copy()
    for i, v in fixed.items():
        x[i] = v
    last, lo = x.size - 1, bounds[0]
    x[last] = np.clip(x[last], *bounds)
    free = np.array([i for i in range(x.size) if i not in fixed])
    f, g = model.loglike_and_grad(x)
    for _ in range(max_iter):
        if last in free and lo < x[last] < -2 and g[last] < 0:
            # a log variance heading for no extra variation, where Newton's steps shrink to
            # about −1 (ℓ ≈ c·φ) or −1/2 (ℓ ≈ c·τ²) each: try the bound itself first
            xb = x.copy()
            xb[last] = lo
            fb, gb = model.loglike_and_grad(xb)
            if fb > f:
                x, f, g = xb, fb, gb
        idx = _active(x, g, free, last, bounds)
        ga = g[idx]
        if np.all(np.abs(ga) < gtol):
            break
        A = -hessian(model, x, idx=idx)
        lam, eye = 0.0, np.eye(idx.size)
        while np.any(np.linalg.eigvalsh(A + lam * eye) <= 0):  # damp until positive definite
            lam = max(2 * lam, 1e-6 * max(1.0, np.abs(np.diag(A)).max()))
        d = np.linalg.solve(A + lam * eye, ga)
        if ga @ d < 1e-14:  # Newton decrement: the predicted gain is below rounding
            break
        t = 1.0
        for _ in range(20):
            xn = x.copy()
            xn[idx] += t * d
            xn[last] = np.clip(xn[last], *bounds)
            fn, gn = model.loglike_and_grad(xn)
            if np.isfinite(fn) and fn >= f + 1e-4 * ga @ (xn[idx] - x[idx]):
                break
            t /= 2
        else:
            break  # no ascent in 2^-20 of the Newton step: at the optimum to rounding
        x, f, g = xn, fn, gn
    converged = bool(np.all(np.abs(g[_active(x, g, free, last, bounds)]) < 1e-5))
    return x, float(f), converged


def wald_se(model, params, bounds, j: int = 1) -> float:
    """SE of params[j] from the inverse of −Hessian over the parameters not at a bound
    (the last parameter is dropped when it is within 1e-6 of one of ``bounds``)."""
    lo, hi = bounds
    keep = np.arange(params.size)
    if not lo + 1e-6 < params[-1] < hi - 1e-6:
        keep = keep[:-1]
    H = hessian(model, params, idx=keep)
    try:
        cov = np.linalg.inv(-H)
    except np.linalg.LinAlgError:
        return float("nan")
    return float(np.sqrt(cov[j, j])) if cov[j, j] > 0 else float("nan")


Refit = Callable[[float, np.ndarray], tuple[np.ndarray, float]]


def profile_interval(
    refit: Refit, params, ll_max: float, level: float, se: float = float("nan"), j: int = 1
) -> tuple[float, float, float]:
    """(lower, upper, LR p) for ``params[j]``.

    ``refit(b, start)`` maximises the log-likelihood with ``params[j]`` fixed at ``b``
    from the parameter vector ``start`` and returns (parameters, log-likelihood);
    ``ll_max`` is the log-likelihood at the MLE ``params``; ``se`` (its Wald SE, if known)
    sets the first trial endpoint. An endpoint not reached within 40 steps is ±inf.
    """
    params = np.asarray(params, float)
    bhat = float(params[j])
    crit = stats.chi2.ppf(level, 1) / 2
    fitted: list[tuple[float, np.ndarray]] = [(bhat, params)]

    def g(bj: float) -> float:
        start = min(fitted, key=lambda f: abs(f[0] - bj))[1]
        p, ll = refit(bj, start)
        fitted.append((bj, p))
        return ll_max - ll - crit

    z = float(np.sqrt(2 * crit))
    first = z * se if np.isfinite(se) and se > 0 else 0.1 * max(abs(bhat), 0.1)
    ends = []
    for direction in (-1, 1):
        inside, step = bhat, first
        for _ in range(40):
            out = bhat + direction * step
            gout = g(out)
            if gout > 0:
                break
            inside = out
            # g ≈ c·step² − crit: the step that reaches g = 0, with a margin
            grow = np.sqrt(crit / max(gout + crit, 1e-12)) * 1.1
            step *= float(np.clip(grow, 1.2, 4.0))
        else:
            ends.append(direction * np.inf)
            continue
        ends.append(optimize.brentq(g, inside, out, xtol=1e-10, rtol=1e-12))
    lr = max(0.0, 2 * (g(0.0) + crit))
    return ends[0], ends[1], float(stats.chi2.sf(lr, 1))
