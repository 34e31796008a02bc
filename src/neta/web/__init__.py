"""`neta serve`: a small Flask app over the artifacts in results/ (Data, Boke, Hiragana, Pizza pages).

:func:`neta.web.app.create_app` builds the app (tests run it in-process with ``app.test_client()``);
the ``neta serve`` command serves it with waitress. This package file imports nothing, so the
command's parser reads :data:`SETTINGS_KEYS` without loading Flask.
"""

# the config parts the app reads (captioner.dataset: where the caption generator's files are;
# hiragana.model: which checkpoint is the recognizer)
SETTINGS_KEYS = ("seed", "device", "captioner.dataset", "captioner.decode", "captioner.sampling", "hiragana.model",
                 "serve", "images")
