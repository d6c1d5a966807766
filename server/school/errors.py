"""The school area's domain error."""


class SchoolError(Exception):
    """Input the school's structure cannot take; the message is Russian and names the problem."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
