"""Blind human ratings of generated text, kept in SQLite.

:mod:`neta.ratings.store` records one judgement a row (a photo, two candidates shown side by side
with their sources hidden, and the rater's choice) and reads them back; :mod:`neta.ratings.stats`
turns judgements into win rates with Wilson intervals and the raters' agreement (Krippendorff's
alpha). A shared package: it imports only the core, and the app, the command line and the report
build on it.
"""
