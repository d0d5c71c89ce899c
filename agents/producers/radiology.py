"""Radiologie: imaging structures equipped with a RIS; one imaging report (18748-4) per exam."""

from agents.producers.base import Sector


class RadiologySector(Sector):
    name = "radiology"
