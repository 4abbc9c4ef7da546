"""The one exception type the CLI turns into a one-line message."""


class DgfasError(Exception):
    """A user-facing error: bad input, unknown name, unusable file.

    The CLI prints ``dgfas: error: <message>`` and exits non-zero, so the
    message must name the thing at fault (file, key, name) on one line.
    """


class UnsupportedSetting(DgfasError):
    """A method that cannot run on a protocol as configured (e.g. meta-learning on one source).

    ``dgfas benchmark`` reports such a job as not run and goes on with the
    others; the leaderboard shows the cell as missing.
    """
