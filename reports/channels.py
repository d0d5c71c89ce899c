"""Every channel's colour, label and line style, from one place: the document channels of the
simulation (``simulator.core.outcomes.CHANNELS``) and the network's other flows (INSi look-ups,
e-prescriptions). A channel not listed here — a new one — still gets a colour (from a fixed
palette, by its name) and its name as label, so that no figure breaks on it; the test
``tests/test_network.py`` checks every channel of CHANNELS is listed."""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelStyle:
    """How a channel is drawn and named in figures and tables."""

    colour: str
    label: str
    dashed: bool = False


STYLES: dict[str, ChannelStyle] = {
    "dmp": ChannelStyle("#1f77b4", "DMP"),
    "mssante_pro": ChannelStyle("#2ca02c", "MSSanté (professionnels)"),
    "mssante_patient": ChannelStyle("#9467bd", "MSSanté (patients)"),
    "mssante_from_patient": ChannelStyle("#e377c2", "MSSanté (patients → professionnels)"),
    "insi": ChannelStyle("#7f7f7f", "INSi (identités qualifiées)", dashed=True),
    "eprescription": ChannelStyle("#d62728", "e-prescription"),
}
#: colours for channels not in STYLES (chosen by a stable hash of the name)
FALLBACK = ("#8c564b", "#bcbd22", "#17becf", "#ff7f0e", "#393b79", "#637939")


def style(channel: str) -> ChannelStyle:
    """The channel's style; a channel not listed gets a palette colour and its name."""
    known = STYLES.get(channel)
    if known is not None:
        return known
    return ChannelStyle(FALLBACK[zlib.crc32(channel.encode()) % len(FALLBACK)], channel)


def order(channels: set[str] | list[str]) -> list[str]:
    """Channels in legend order: those listed first, in their order, then the others by name."""
    listed = list(STYLES)
    return sorted(set(channels), key=lambda c: (listed.index(c) if c in STYLES else len(listed), c))


#: the labels, for tables
LABELS = {name: s.label for name, s in STYLES.items()}

__all__ = ["ChannelStyle", "FALLBACK", "LABELS", "STYLES", "order", "style"]
