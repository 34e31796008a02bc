"""The one exception type for bad input: the CLI prints its message and exits 2."""


class NetaError(Exception):
    """Bad input or configuration; the message names the file or key and the fix."""
