"""`neta serve`: a small Flask app over the artifacts in results/ (Data, Boke, Hiragana, Pizza pages).

:func:`create_app` builds the app (tests run it in-process with ``app.test_client()``); the
``neta serve`` command serves it with waitress.
"""

from neta.web.app import create_app

__all__ = ["create_app"]
