"""Caption text: tokens (MeCab via fugashi + unidic-lite for Japanese, words for English) and the
word vocabulary (``vocab.json``) the captioner trains and decodes with."""
