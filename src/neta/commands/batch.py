"""What `neta caption` and `neta hiragana predict` share: a batch of pictures printed as JSON lines."""

from __future__ import annotations

import json

from neta.errors import NetaError

# the end of both commands' --help
EXIT_STATUS = ("A picture that cannot be used (missing, not a picture, over images.max_pixels, ...) gets a line "
               '{"image", "error"} in its place and the others are still done; the exit status is then 2, '
               "else 0.")


def print_batch(rows: list[dict], what: str) -> int:
    """One JSON line a row, good or failed; then, when any failed, the NetaError that makes the exit
    status 2, so a script sees the failure while the good rows are still printed."""
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), flush=True)
    failed = [row["image"] for row in rows if "error" in row]
    if failed:
        raise NetaError(f"{len(failed)} of {len(rows)} {what} could not be used ({', '.join(failed)}); "
                        'their lines have an "error" in place of a result')
    return 0
