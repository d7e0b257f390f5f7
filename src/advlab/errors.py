"""One exception type for everything a user can fix; the CLI turns it into a one-line error."""


class AdvlabError(Exception):
    """Bad input or an unrecoverable run state, explained in one line (exit status 2)."""


class DataError(AdvlabError):
    """A data file is missing, corrupt, truncated or has the wrong checksum."""


class ConfigError(AdvlabError):
    """A configuration value or key is invalid."""


class DivergedError(AdvlabError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""
