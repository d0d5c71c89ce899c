"""One module per `segur` sub-command, named as the command; each says its one-line ``HELP``, its
``DESCRIPTION``, ``add_arguments(parser)`` and ``handle(args)``, which takes the parsed arguments
and returns the exit code (``simulator.cli.build_parser`` puts them together).
"""
