"""The error family for user mistakes: one sentence, exit code 2.

Every mistake a user can make (a bad task file, a flag, a data row, a run folder) raises a subclass
of :class:`EvalkitError` whose message is one sentence naming the file, field, row or flag. The CLI
catches this family alone; anything else is evalkit's own bug and shows its traceback.

This module is a leaf: it imports nothing from evalkit, so every room can raise these.
"""

from __future__ import annotations


class EvalkitError(Exception):
    """A user's mistake, told in one sentence that names the file, field, row or flag."""

    exit_code: int = 2


class MarksError(EvalkitError, ValueError):
    """A marks file (teachers', a judge's, or published grades) that cannot be read, or a marking sheet not written."""
