"""This account's configuration folder: keys and trust lists that never live in a project.

A project folder is shared with a whole crew; private keys (the consent signer, the
Content Credentials signer) and the lists of keys this account trusts belong to the
person, so they live here.
"""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """``$MOVIOLA_CONFIG``, else ``$XDG_CONFIG_HOME/moviola``, else ``~/.config/moviola``."""
    if os.environ.get("MOVIOLA_CONFIG"):
        return Path(os.environ["MOVIOLA_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "moviola"
