"""Imports the modules that register the shipped flows (see simulator/flows.py)."""
