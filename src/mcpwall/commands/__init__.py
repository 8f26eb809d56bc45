"""Subcommand groups of the command line that have grown beyond a function or two in cli.py.

Each module has ``add_parser(sub, common)``; cli.ADDERS registers them.
"""
