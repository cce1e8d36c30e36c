"""``python -m moviola``: the same as the ``moviola`` command."""

from .cli import main

raise SystemExit(main())
