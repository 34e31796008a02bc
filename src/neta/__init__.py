"""neta: one Snakemake workflow that rebuilds four classic image/ML systems end to end."""

__version__ = "0.1.0"
