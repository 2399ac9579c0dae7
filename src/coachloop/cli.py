"""The ``coachloop`` command: Django's management commands under our name, plus ours
(``serve``, ``demo``, ``token``; later ``import``, ``simulate``, ``worker``, ``recompute``)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachloop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["coachloop", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
