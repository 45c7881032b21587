"""Is the login configuration usable?  Pure checks, so the app can fail closed.

Login (Streamlit's OIDC ``st.login``) is configured by an ``[auth]`` section in the
secrets.  The app must never open to everyone because that section is broken:

* ``[auth]`` present but empty, or with its keys commented out, used to count as "no
  login" (the app opened to every visitor);
* a ``secrets.toml`` that is a dangling symbolic link is, to Streamlit, no file at all.

So: no ``[auth]`` and no secrets file at all means login is off (a single-user
machine); anything else that is not a complete, usable configuration refuses every page
with a message for the administrator.  The keys and their meaning follow Streamlit's
``st.login`` documentation: ``redirect_uri`` and ``cookie_secret`` in ``[auth]``, and
``client_id``, ``client_secret`` and ``server_metadata_url`` for the default provider
(in ``[auth]``) or for each named provider (``[auth.<name>]``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

SHARED_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def _blank(value: object) -> bool:
    return value is None or not str(value).strip()


def auth_problem(section: object) -> str:
    """Why an ``[auth]`` section cannot be used for login ("" when it can)."""
    if not isinstance(section, Mapping) or not section:
        return "[auth] is present but empty (or all its keys are commented out)"
    missing = [k for k in SHARED_KEYS if _blank(section.get(k))]
    if missing:
        return f"[auth] has no {' or '.join(missing)}"
    default = [k for k in PROVIDER_KEYS if k in section]
    named = {k: v for k, v in section.items() if isinstance(v, Mapping)}
    if not default and not named:
        return f"[auth] names no identity provider ({', '.join(PROVIDER_KEYS)})"
    if default:
        lacking = [k for k in PROVIDER_KEYS if _blank(section.get(k))]
        if lacking:
            return f"the default provider in [auth] has no {', '.join(lacking)}"
    for name, provider in named.items():
        if "_" in name:
            return f"the provider name [auth.{name}] has an underscore, which Streamlit does not accept"
        lacking = [k for k in PROVIDER_KEYS if _blank(provider.get(k))]
        if lacking:
            return f"[auth.{name}] has no {', '.join(lacking)}"
    return ""


def secrets_files_problem(paths: Iterable[str | os.PathLike[str]]) -> str:
    """Why the configured secrets files cannot be trusted to be what they seem ("" when
    they can): a symbolic link that points nowhere (to Streamlit, no file: login off),
    or a file that exists but cannot be read.  Only the file's name is said (the message
    is shown to visitors who are not logged in; the administrator knows the paths)."""
    for raw in paths:
        path = Path(raw)
        for p in (path, *path.parents):
            if p.is_symlink() and not p.exists():
                what = f"the secrets file {path.name}" if p == path else f"the folder {p.name} of the secrets file"
                return f"{what} is a symbolic link that points to nothing"
        if path.exists() and path.is_file() and not os.access(path, os.R_OK):
            return f"the secrets file {path.name} cannot be read (permissions)"
    return ""


__all__ = ["PROVIDER_KEYS", "SHARED_KEYS", "auth_problem", "secrets_files_problem"]
