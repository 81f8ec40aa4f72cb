"""Subcommands of `inbound`, one module per command or family (the top-level parser is
inbound.cli).

Each module has `register(subparsers)`, which adds its parsers, and handlers that parse nothing
further and print the result. Every module is imported to build the parser, so a module imports
the service (bootstrap, the store, the broker, aiohttp, argon2, the rule engine) inside the
handler that needs it, never at the top: tests/unit/test_cli_imports.py holds it to that.
"""
