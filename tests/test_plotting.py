"""plotting.check_legible: figure text stays legible at the book's column width."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from smallest_loss import plotting  # noqa: E402


def test_theme_default_figure_is_legible_at_the_column_width():
    plotting.set_theme()
    fig, ax = plotting.new_figure()
    ax.plot([1, 10], [1, 2], label="Hoffmann et al. 2022")
    ax.set_xlabel("training compute C [FLOP]")
    ax.legend()
    sizes = dict(plotting.text_sizes_px(fig))
    assert min(sizes.values()) >= plotting.MIN_TEXT_PX
    plotting.check_legible(fig)
    plt.close(fig)


def test_a_wide_panel_grid_is_flagged():
    plotting.set_theme()
    fig, axes = plt.subplots(2, 5, figsize=(17, 7))  # chapter 5's grid before its re-make
    for ax in axes.flat:
        ax.set_xlabel("parameters N")
    with pytest.raises(ValueError, match=r"would be [0-9.]+ px at a 752 px column"):
        plotting.check_legible(fig)
    plt.close(fig)


def test_bad_width():
    fig = plt.figure()
    with pytest.raises(ValueError, match="content_width_px must be positive, got 0"):
        plotting.text_sizes_px(fig, 0)
    plt.close(fig)


def test_check_legible_after_show_leaves_a_bare_canvas():
    # plt.show() in a notebook leaves the figure with a FigureCanvasBase that cannot render;
    # the check must still measure it (it draws with Agg then) and still reject small text.
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_xlabel("training compute C [FLOP]", fontsize=12)
    FigureCanvasBase(fig)
    plotting.check_legible(fig)
    ax.set_ylabel("tiny", fontsize=3)
    FigureCanvasBase(fig)
    with pytest.raises(ValueError, match="tiny"):
        plotting.check_legible(fig)
    plt.close(fig)
