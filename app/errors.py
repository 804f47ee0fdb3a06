"""Error types shared across features."""

from __future__ import annotations


class ExpectedFailure(Exception):
    """A failure the app anticipates (an upstream is down, a response is invalid).

    The scheduler records and logs it by its message alone, without a traceback.
    """
