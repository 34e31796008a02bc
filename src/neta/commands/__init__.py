"""The `neta` subcommands, one module an area of the workflow."""
