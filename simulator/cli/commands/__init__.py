"""One module per `segur` sub-command; each exposes ``register(subparsers)``.

A command's handler takes the parsed arguments and returns the exit code.
"""
