"""What the workflow's data look like: statistics of the crawls and conversions, their figures and tables.

:mod:`neta.stats.data` computes JSON-able numbers from the stage files (the browser app's Data page
and the report's data figures both read them); :mod:`neta.stats.figures` draws them and
:mod:`neta.stats.tables` renders a ``metrics.json`` as a self-contained HTML table for the report.
"""
