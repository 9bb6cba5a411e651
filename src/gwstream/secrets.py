"""Secrets from a value, an environment variable or a file, checked before first use.

Kept free of heavy imports: the settings models read their secret files with it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import SecretStr

from gwstream.errors import ConfigError

#: An environment variable's name as people write them (upper case, digits, underscores):
#: a missing one that does not look like this is not echoed in an error.
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def load_secret(
    value: str | SecretStr | None = None,
    *,
    env: str | None = None,
    file: str | Path | None = None,
    what: str = "client_secret",
) -> SecretStr:
    """A secret from exactly one of: a value, an environment variable, a file.

    A file's surrounding whitespace (a trailing newline) is dropped. Errors
    name the variable or the file to fix, never the secret: not even a name
    that looks like one (a secret given where its variable's name belongs).
    """
    given = [name for name, v in (("value", value), ("env", env), ("file", file)) if v]
    if len(given) != 1:
        raise ConfigError(f"{what}: give exactly one of a value, an env variable or a file")
    if isinstance(value, SecretStr):
        text = value.get_secret_value()
        source = "the value"
    elif value is not None:
        text = value
        source = "the value"
    elif env is not None:
        found = os.environ.get(env)
        if found is None and not _ENV_NAME.match(env):
            raise ConfigError(
                f"{what}: no such environment variable, and its name is not shown: it does "
                "not look like one (is it the secret itself?); give the name of the variable "
                "that holds the secret, like MY_SECRET"
            )
        if found is None:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        text = found
        source = f"environment variable {env}"
    else:
        assert file is not None
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            shown = str(file) if "/" in str(file) or path.exists() else "(not shown: no path)"
            raise ConfigError(f"{what}: cannot read {shown}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"{what}: file {file} is not UTF-8 text (a binary file, or another encoding?)"
            ) from None
        source = f"file {file}"
    text = text.strip()
    if not text:
        raise ConfigError(f"{what}: {source} is empty")
    return SecretStr(text)


def header_problem(secret: str) -> str | None:
    """Why ``secret`` cannot go in an HTTP header as it is (never quoting it), or None."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in secret):
        return (
            "holds a control character (a line break or a tab?); an API key goes in an "
            "HTTP header as it is: remove it"
        )
    return None
