"""Errors raised for bad user input.

Every problem with the user's files or arguments is raised as :class:`InputError`, whose message
is one line naming the file, column and an example row.  The command-line interface turns it into
``codbayes: error: <message>`` and exit code 2, without a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input (file, column, row or argument), reported in one line.

    Parameters
    ----------
    message : str
        What is wrong.
    source : str, optional
        The file (or argument) the problem was found in.
    column : str, optional
        The column involved.
    row : object, optional
        An example offending row (index label, line number or a short rendering of the row).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: object | None = None,
    ) -> None:
        self.source = source
        self.column = column
        self.row = row
        parts = []
        if source:
            parts.append(str(source))
        if column:
            parts.append(f"column '{column}'")
        if row is not None:
            parts.append(f"row {row}")
        where = ", ".join(parts)
        text = f"{where}: {message}" if where else message
        super().__init__(" ".join(text.split()))


class ConvergenceWarning(UserWarning):
    """MCMC diagnostics (R-hat, ESS, divergences) are poor; treat intervals with care."""
