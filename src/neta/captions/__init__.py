"""Caption data: every dataset (crawled bokes, boke cans, COCO, Karpathy) turned into one caption table
(:mod:`neta.captions.table`) by :func:`neta.captions.prepare.prepare_captions`."""
