from __future__ import annotations

import pytest

from tests.support.logs import nginx_line


@pytest.fixture
def access_log(settings, tmp_path):
    """A 50-line nginx access log in a folder logrotate accepts, configured as nginx-access."""
    folder = tmp_path / "nginx"
    folder.mkdir(mode=0o755)  # logrotate refuses group- or world-writable folders
    path = folder / "access.log"
    path.write_text("".join(f"{nginx_line(n)}\n" for n in range(50)))
    settings.WPDASH_LOGS = {"nginx-access": str(path)}
    return path
