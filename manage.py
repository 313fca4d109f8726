#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    # The watcher loads the dashboard's settings without the web edge (wpdash/watch_settings.py).
    watching = sys.argv[1:2] == ["watch"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wpdash.watch_settings" if watching else "wpdash.settings")
    from wpdash.env import settings_or_exit

    settings_or_exit()  # a bad setting: one line naming it, not a traceback
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
