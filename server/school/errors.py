"""The school area's domain error."""

from ..errors import UserError


class SchoolError(UserError):
    """Input the school's structure cannot take; the message is Russian and names the problem."""
