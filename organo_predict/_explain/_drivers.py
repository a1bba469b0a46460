"""The one driver ranking of explanations, scoring and serving: per row, the markers that
move a prediction most, up, down or either way."""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["DriverRule", "rank_drivers"]

DriverRule = Literal["up", "down", "either"]


def rank_drivers(contributions: np.ndarray, top_k: int, direction: DriverRule = "either",
                 min_size: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The one driver ranking of explanations, scoring and serving.

    Per row of `contributions` (rows x markers, log-odds), the `top_k` markers by size,
    largest first, ties to the lower column: `direction` "up" ranks positive contributions,
    "down" negative ones, "either" both by their absolute value. A contribution that is zero
    or smaller than `min_size` is not a driver. Returns (columns, values), each (rows,
    top_k): -1 and 0.0 where a row has fewer drivers.
    """
    n, width = contributions.shape
    k = min(top_k, width)
    columns = np.full((n, max(top_k, 0)), -1, dtype=np.int64)
    values = np.zeros((n, max(top_k, 0)))
    if k <= 0 or n == 0:
        return columns, values
    size = {"up": contributions, "down": -contributions}.get(direction)
    size = np.abs(contributions) if size is None else size
    key = np.where(size >= min_size if min_size > 0 else size > 0, -size, np.inf)
    candidates = np.flatnonzero(np.isfinite(key).any(axis=0))  # markers that drive any row
    k = min(k, len(candidates))
    if k == 0:
        return columns, values
    if len(candidates) < width // 2:  # few markers drive anything (one organ): rank those
        key = key[:, candidates]
    else:  # most do (organs stacked): no copy
        candidates = None
    span = key.shape[1]
    best = (np.argpartition(key, k - 1, axis=1)[:, :k] if k < span
            else np.broadcast_to(np.arange(span), (n, k)))
    picked = np.take_along_axis(key, best, axis=1)
    order = np.lexsort((best, picked), axis=1)  # by size, then by column
    best = np.take_along_axis(best, order, axis=1)
    if candidates is not None:
        best = candidates[best]
    found = np.isfinite(np.take_along_axis(picked, order, axis=1))
    columns[:, :k] = np.where(found, best, -1)
    values[:, :k] = np.where(found, np.take_along_axis(contributions, best, axis=1), 0.0)
    return columns, values
