"""Imports the modules that register the shipped flows (see simulator/flows.py)."""

import simulator.eprescription_flow  # noqa: F401  (e-prescription base and dispensations)
import simulator.wave2_flows  # noqa: F401  (consultation, DRIMbox, MSSanté integration)
