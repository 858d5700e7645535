"""Errors users see: one line naming the object and the field, never a bare traceback."""


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (newline, control, lone surrogate) escaped,
    so a message built from a user's name stays one line and can be written anywhere."""
    return "".join(character if character.isprintable() else ascii(character)[1:-1] for character in text)


class NeurodeployError(Exception):
    """Base of every error the toolchain reports to users as a one-line message."""


class ValidationError(NeurodeployError, ValueError):
    """Bad input in a network description, a stimulus or a command-line option.

    ``where`` names the object (``population 'CA3cue'``), ``field`` the offending field.
    """

    def __init__(self, where: str, field: str | None, message: str):
        self.where = where
        self.field = field
        self.message = message
        location = where if field is None else f"{where}, field '{field}'"
        super().__init__(one_line(f"{location}: {message}"))

    def __reduce__(self):
        # Rebuilt from its three parts, so that it crosses process boundaries (worker pools).
        return type(self), (self.where, self.field, self.message)


class BackendError(NeurodeployError):
    """A backend cannot run a (valid) network: unsupported feature or a failure of its dependency."""


class NeurodeployWarning(UserWarning):
    """A value or an input that is legal but almost surely a mistake (a parameter in the wrong unit, input
    spikes after the run's end): the Python API warns with it where the command line prints a warning."""
