"""Each scenario's look in the figures that compare scenarios (the comparison figure, the
page's and the report's panels): colour, line style and marker, distinct from the others'."""

from __future__ import annotations

# Okabe & Ito (2008) colour-blind-safe palette (its yellow last: faint on white), then four of
# Tol's muted scheme (also colour-blind safe): a lever library of up to 12 scenarios uses no colour
# or marker twice; the 6 line styles cycle on their own, so neighbours differ in all three
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
          "#882255", "#44AA99", "#999933", "#332288", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")


def style(i: int) -> dict:
    """Colour, line style and marker of the i-th scenario (each distinct from the others')."""
    # past the colours, the line style shifts by one per round: scenario 13 is not scenario 1
    return {"color": COLORS[i % len(COLORS)], "linestyle": LINESTYLES[(i + i // len(COLORS)) % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}
