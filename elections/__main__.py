"""``python -m elections verify BUNDLE`` / ``python -m elections credentials …``.

The same commands as ``python -m elections.verify`` and ``python -m elections.credentials``.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Dispatch to the sub-command's own ``main``."""
    commands = {"verify": "elections.verify", "credentials": "elections.credentials"}
    if not argv or argv[0] not in commands:
        print("usage: python -m elections {verify,credentials} ...", file=sys.stderr)
        return 2
    import importlib

    return int(importlib.import_module(commands[argv[0]]).main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
