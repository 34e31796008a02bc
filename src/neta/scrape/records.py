"""Old home of the boke record, now in neta.scrape.bokete.records.

Kept only so that importers not yet moved (the workflow's integration tests) keep working; new code
imports from the bokete package.
"""

from neta.scrape.bokete.records import BOKE_COLUMNS, Boke

__all__ = ["BOKE_COLUMNS", "Boke"]
