"""The one driver ranking: by size, ties to the lower column, padded where drivers run out."""

from __future__ import annotations

import numpy as np

from organo_predict import rank_drivers

SHAP = np.array([[0.3, -0.5, 0.3, 0.0, 2e-5],
                 [0.0, 0.0, 0.0, 0.0, 0.0]])


def test_either_way_by_absolute_size_ties_to_the_lower_column() -> None:
    columns, values = rank_drivers(SHAP, 3, "either")
    assert columns.tolist() == [[1, 0, 2], [-1, -1, -1]]
    np.testing.assert_array_equal(values, [[-0.5, 0.3, 0.3], [0, 0, 0]])


def test_up_and_down_with_a_minimum_size() -> None:
    up, up_values = rank_drivers(SHAP, 4, "up", min_size=1e-4)
    assert up.tolist() == [[0, 2, -1, -1], [-1, -1, -1, -1]]  # 2e-5 is below the minimum
    down, down_values = rank_drivers(SHAP, 2, "down", min_size=1e-4)
    assert down.tolist()[0] == [1, -1] and down_values[0, 0] == -0.5


def test_many_rows_agree_with_a_plain_sort() -> None:
    rng = np.random.default_rng(0)
    shap = np.where(rng.random((300, 40)) < 0.2, rng.normal(size=(300, 40)), 0.0)
    columns, values = rank_drivers(shap, 5, "either")
    for row in range(300):
        nonzero = np.flatnonzero(shap[row])
        expected = sorted(nonzero, key=lambda j: (-abs(shap[row, j]), j))[:5]
        got = [c for c in columns[row] if c >= 0]
        assert got == expected
        np.testing.assert_array_equal(values[row, :len(got)], shap[row, got])
