"""The one AUROC of the project, ties counted half, with many bootstrap weightings at
once: what evaluation reports and what the leakage audit's separation check reads."""

from __future__ import annotations

import numpy as np

__all__ = ["auroc"]


def _tie_groups(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(score, kind="mergesort")
    sorted_score = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    return order, starts


def auroc(y: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """AUROC with ties counted half; `weights` (B, n) gives B weighted AUROCs at once."""
    y = np.asarray(y, dtype=bool)
    order, starts = _tie_groups(np.asarray(score, dtype=np.float64))
    w = np.ones((1, len(y))) if weights is None else np.atleast_2d(weights)
    w = w[:, order]
    pos = w * y[order]
    neg = w - pos
    pos_g = np.add.reduceat(pos, starts, axis=1)
    neg_g = np.add.reduceat(neg, starts, axis=1)
    neg_below = np.cumsum(neg_g, axis=1) - neg_g
    total = pos_g.sum(1) * neg_g.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (pos_g * (neg_below + 0.5 * neg_g)).sum(1) / total
    return out if weights is not None else out[:1]
