"""Subcommands of `inbound`, one module per family (the top-level parser is inbound.cli)."""
