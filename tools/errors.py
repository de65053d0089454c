"""The few exceptions that reach a user. Each carries one sentence: what is wrong and what to do."""


class UserError(Exception):
    """A mistake or missing piece on the user's side; the CLI prints the message, never a traceback."""

    exit_code = 2  # bad input


class DatasetError(UserError):
    pass


class ConfigError(UserError):
    pass


class BackendError(UserError):
    pass


class PlatformError(UserError):
    pass


class EndpointDown(UserError):
    """The model's endpoint does not answer: nothing could run, though the input may be right."""

    exit_code = 1
