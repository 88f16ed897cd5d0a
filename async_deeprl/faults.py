"""Faults that stop a run: a write that fails (disk full, read-only filesystem, a removed
folder), or the loss of a process the run needs (`ProcessLost`).

The runner turns them into one `WriteError` line that says what was being
written, at which step, and how to resume; see `reason`.
"""

import errno
import os
import re


class WriteError(RuntimeError):
    """A checkpoint or log file could not be written; the message is one line."""


class ProcessLost(RuntimeError):
    """A process the run cannot go on without (the `--workers` parameter holder) died; the run
    stops without a last checkpoint and the message (one line) says how to resume."""


def reason(error):
    """A short lower-case reason for a failed write: the OS's words for its errno
    ("no space left on device", "file too large", "read-only file system"), found in
    an OSError or in the message of a TensorFlow error, else the message's first line."""
    code = getattr(error, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return os.strerror(code).lower()
    text = str(getattr(error, "message", None) or error)
    for code in (errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EDQUOT, errno.ENOENT,
                 errno.EACCES, errno.EIO):
        words = os.strerror(code)
        if re.search(re.escape(words), text, re.IGNORECASE):
            return words.lower()
    return (text.strip().splitlines() or [type(error).__name__])[0][:200]
