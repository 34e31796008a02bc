"""Reading the JSON files users hand in (annotations, vocabularies): one error naming the file, whatever is wrong."""

from __future__ import annotations

import json
import os

from neta.errors import NetaError


def read_json_object(path: str | os.PathLike, what: str, fix: str = "") -> dict:
    """The JSON object in ``path``; a NetaError naming the file when it is absent, not JSON, or not an object."""
    hint = f"; {fix}" if fix else ""
    try:
        with open(path, encoding="utf-8") as handle:
            obj = json.load(handle)
    except OSError as exc:
        raise NetaError(f"{path}: cannot read {what} ({exc}){hint}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NetaError(f"{path}: {what} is not valid JSON ({exc}){hint}") from exc
    if not isinstance(obj, dict):
        raise NetaError(f"{path}: {what} must be a JSON object, got {type(obj).__name__}{hint}")
    return obj
