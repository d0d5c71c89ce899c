"""The shared basics at the bottom of every layer: outcome codes, errors, tallies, named random
streams and helper threads. Imports nothing of the project (agents and scenarios may import it)."""
