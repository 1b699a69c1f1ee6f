"""The book's figure theme: one place sets fonts, palette and sizes for every chapter."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["set_theme", "palette", "new_figure", "CONTENT_WIDTH_PX", "MIN_TEXT_PX", "text_sizes_px",
           "check_legible"]

CONTENT_WIDTH_PX = 752  # the book's text column at a 1280 px window (measured in Chromium)
MIN_TEXT_PX = 9.0       # smallest legible text on the page

_PALETTE = "colorblind"  # colour-blind-safe (seaborn's version of Wong 2011)


def set_theme() -> None:
    """Apply the book's seaborn/matplotlib theme (white grid, colour-blind-safe palette)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=_PALETTE)
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.2),
            "figure.dpi": 110,
            "savefig.bbox": "tight",
            "axes.titlesize": "medium",
            "legend.fontsize": "small",
            "legend.frameon": True,
        }
    )


def palette(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours from the book's colour-blind-safe palette (a sequential one if ``n > 10``)."""
    if n <= 10:
        return sns.color_palette(_PALETTE, n)
    return sns.color_palette("viridis", n)


def new_figure(ncols: int = 1, width: float = 6.4, height: float = 4.2, **kwargs):
    """A figure with ``ncols`` axes side by side, sized for the book's page."""
    return plt.subplots(1, ncols, figsize=(width * (1 if ncols == 1 else 0.8 * ncols), height), **kwargs)


def text_sizes_px(fig, content_width_px: float = CONTENT_WIDTH_PX) -> list[tuple[str, float]]:
    """Every visible text of ``fig`` with its height in CSS pixels once the figure is shown at most
    ``content_width_px`` wide (the page scales a wider figure down; a narrower one is shown as is
    at the figure's dpi, 96 dpi being one CSS pixel per dot)."""
    if content_width_px <= 0:
        raise ValueError(f"content_width_px must be positive, got {content_width_px!r}")
    if not hasattr(fig.canvas, "get_renderer"):
        # plt.show() in a notebook leaves a figure with a bare canvas; draw it with Agg instead
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())  # inches, as savefig(bbox="tight") crops
    native_px = bbox.width * fig.dpi  # image width in dots
    shown_px = min(native_px, content_width_px)
    scale = shown_px / native_px  # displayed CSS px per image dot
    sizes = []
    for text in fig.findobj(mpl.text.Text):
        if text.get_visible() and text.get_text().strip():
            sizes.append((text.get_text(), text.get_fontsize() / 72 * fig.dpi * scale))
    return sizes


def check_legible(fig, content_width_px: float = CONTENT_WIDTH_PX, min_px: float = MIN_TEXT_PX) -> None:
    """Raise ``ValueError`` naming the smallest text of ``fig`` if any text would be shown smaller
    than ``min_px`` CSS pixels on a page whose column is ``content_width_px`` wide."""
    small = [(t, px) for t, px in text_sizes_px(fig, content_width_px) if px < min_px]
    if small:
        text, px = min(small, key=lambda s: s[1])
        raise ValueError(f"figure text {text[:40]!r} would be {px:.1f} px at a {content_width_px} px column "
                         f"(minimum {min_px} px; {len(small)} texts too small): enlarge fonts or narrow the figure")
