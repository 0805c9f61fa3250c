"""Bad input: one exception type for a value a user gave that cannot work, a check that refuses a
value outside its options, and the entry points' reporter that prints such an error as one message
(no traceback) and exits with status 1."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from omegaconf.errors import MissingMandatoryValue

#: Set to 1 (``HYDRA_FULL_ERROR``, Hydra's own switch) to see the traceback of a reported error.
TRACEBACK_VARIABLE = "HYDRA_FULL_ERROR"


class InvalidInputError(ValueError):
    """A value a user gave (a config value, a command-line argument, a file) that cannot work. Its
    message names the value and the fix."""


class MissingInputError(InvalidInputError, FileNotFoundError):
    """A file or directory a user named that is not there (or not what it should be)."""


def check_choice(name: str, value: object, choices: Collection[str]) -> None:
    """Raise ``InvalidInputError`` naming ``name=value`` and ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise InvalidInputError(f"{name}={value!r} is invalid: choose one of {', '.join(choices)}")


def user_error(error: BaseException) -> BaseException | None:
    """The bad-input error behind ``error`` (itself or one it was raised from), if there is one:
    Hydra wraps the errors a constructor raises in its own."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, InvalidInputError | MissingMandatoryValue):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def show_tracebacks() -> bool:
    return os.environ.get(TRACEBACK_VARIABLE) == "1"


def _in_multirun() -> bool:
    """Whether this is one job of a Hydra multirun (whose launcher must see the error, record the
    job as failed and go on with the others)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


Function = TypeVar("Function", bound=Callable[..., Any])


def reports_bad_input(function: Function) -> Function:
    """Run ``function`` (an entry point); a bad-input error it raises is printed as
    ``error: <message>`` on stderr and the process exits with status 1. With ``HYDRA_FULL_ERROR=1``,
    and inside a multirun's job, the error propagates with its traceback instead."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            cause = user_error(error)
            if cause is None or show_tracebacks() or _in_multirun():
                raise
            message = str(cause).strip()
            if isinstance(cause, MissingMandatoryValue):
                message = f"{cause.full_key} is required and has no value: set it, e.g. {cause.full_key}=..."
            print(
                f"error: {message}\n(set {TRACEBACK_VARIABLE}=1 to see where it was raised)", file=sys.stderr
            )
            raise SystemExit(1) from None

    return wrapper  # type: ignore[return-value]
