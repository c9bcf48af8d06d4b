"""Small cells are hidden, and no hidden cell can be worked out from what is shown."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from kalabarg.figures.suppression import suppress_grid, suppress_list


def test_a_list_hides_cells_under_ten_and_one_more_so_the_total_gives_nothing_away():
    hidden, total_hidden = suppress_list([120, 4, 35, 60])
    assert hidden == [False, True, True, False]  # 4 itself, then 35, the smallest other
    assert total_hidden is False


def test_a_list_with_two_small_cells_needs_no_complementary_cell():
    hidden, total_hidden = suppress_list([120, 4, 7, 60])
    assert hidden == [False, True, True, False]
    assert total_hidden is False


def test_a_list_with_nothing_small_hides_nothing():
    assert suppress_list([10, 11, 500]) == ([False, False, False], False)


def test_zero_counts_fewer_than_ten():
    hidden, _ = suppress_list([0, 50, 60])
    assert hidden == [True, True, False]


def test_a_grid_hides_a_complementary_cell_in_the_row_and_in_the_column():
    # Given provinces × deciles where one cell counts 3 households
    counts = [
        [50, 3, 40],
        [60, 70, 80],
        [90, 55, 30],
    ]
    grid = suppress_grid(counts)
    # Then its row and its column each have a second hidden cell (the smallest in each) and,
    # since that makes another row and column carry one, a fourth closes the rectangle.
    assert grid.hidden == (
        (False, True, True),
        (False, False, False),
        (False, True, True),
    )
    assert not any(grid.row_total_hidden) and not any(grid.column_total_hidden)


def _sums(rows: int, columns: int) -> list[list[tuple[int, int]]]:
    return [[(r, c) for c in range(columns + 1)] for r in range(rows + 1)] + [
        [(r, c) for r in range(rows + 1)] for c in range(columns + 1)
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda columns: st.lists(
            st.lists(st.integers(min_value=0, max_value=60), min_size=columns, max_size=columns),
            min_size=1,
            max_size=6,
        )
    )
)
def test_no_sum_ever_has_exactly_one_hidden_member_and_every_small_cell_is_hidden(counts):
    rows, columns = len(counts), len(counts[0])
    grid = suppress_grid(counts)
    full_hidden = [[*list(grid.hidden[r]), grid.row_total_hidden[r]] for r in range(rows)]
    full_hidden.append([*list(grid.column_total_hidden), grid.grand_total_hidden])
    for members in _sums(rows, columns):
        assert sum(full_hidden[r][c] for r, c in members) != 1
    for r, c in itertools.product(range(rows), range(columns)):
        if counts[r][c] < 10:
            assert grid.hidden[r][c]
