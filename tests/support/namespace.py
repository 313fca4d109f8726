"""Run commands as a throwaway system user inside a private mount namespace.

Tests that need real sudo, a real user and a real sudoers drop-in must not change
the machine they run on. As root, `unshare --mount` gives this helper a copy of the
mount table that nobody else sees: it bind-mounts throwaway copies over
/etc/passwd, /etc/group, /etc/shadow, /etc/sudoers.d (and a stand-in over
/usr/bin/systemctl), optionally makes the whole tree read-only and non-executable
the way the systemd unit's sandbox does, runs the commands and exits. The mounts
vanish with the process, even when a test crashes; nothing on disk is changed
outside the test's own temporary directory.

The parent side (`run`) is used by tests; `python -m tests.support.namespace SPEC` is the
child that unshare starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Sandbox:
    """The file-system confinement of a systemd unit, emulated with mounts.

    read_only_root and no_exec_root stand for ProtectSystem=strict and NoExecPaths=/;
    exec_paths for ExecPaths= (read-only but executable), writable_paths for
    ReadWritePaths= (writable, never executable, as under NoExecPaths=/).
    """

    read_only_root: bool = True
    no_exec_root: bool = True
    exec_paths: list[str] = field(default_factory=list)
    writable_paths: list[str] = field(default_factory=list)


@dataclass
class Spec:
    binds: list[tuple[str, str]]  # (source, target), mounted in this order
    uid: int
    gid: int
    groups: list[int]
    commands: list[dict]  # {"argv": [...], "env": {...}, "as_root": bool}
    sandbox: Sandbox | None = None


def require_namespaces() -> None:
    """Skip (or, under CI, fail) unless this process may build mount namespaces."""
    from tests.support.servers import missing_server

    if os.geteuid() != 0:
        missing_server("needs root to build a private mount namespace for a throwaway user")
    for tool in ("unshare", "sudo", "useradd", "visudo"):
        if shutil.which(tool) is None:
            missing_server(f"needs {tool}")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        missing_server(f"unshare --mount does not work here: {probe.stderr.strip()}")


def add_system_user(work: Path, useradd_args: list[str]) -> tuple[Path, int, int, dict[str, int]]:
    """Run the real useradd against copies of the account files in work/etc.

    useradd --prefix writes PREFIX/etc/passwd and friends instead of the real ones,
    so the user exists only in these copies (bind-mounted later, in the namespace).
    Returns the prefix, the new user's uid and gid, and every group's gid by name.
    """
    etc = work / "etc"
    etc.mkdir(parents=True)
    for name in ("passwd", "group", "login.defs"):
        shutil.copy2(Path("/etc", name), etc / name)
    # Start the shadow files empty: no password hash of this machine is copied, and
    # the new user's entry is all sudo's PAM account check looks up.
    for name in ("shadow", "gshadow"):
        (etc / name).touch(mode=0o600)
    subprocess.run(["useradd", "--prefix", str(work), *useradd_args], check=True, capture_output=True, text=True)
    user = useradd_args[-1]
    passwd = {line.split(":")[0]: line.split(":") for line in (etc / "passwd").read_text().splitlines() if line}
    groups = {line.split(":")[0]: int(line.split(":")[2]) for line in (etc / "group").read_text().splitlines() if line}
    return work, int(passwd[user][2]), int(passwd[user][3]), groups


STAND_IN_SYSTEMCTL = """#!/bin/sh
# Stand-in for systemctl: says who ran it, with which arguments and environment.
# Shell builtins only, so it runs inside the emulated sandbox too.
while read -r key value _; do [ "$key" = "Uid:" ] && echo "uid=$value"; done < /proc/self/status
echo "argv=$*"
export -p
"""


def stand_in_systemctl(work: Path) -> Path:
    path = work / "systemctl"
    path.write_text(STAND_IN_SYSTEMCTL)
    path.chmod(0o755)
    return path


def account_binds(prefix: Path) -> list[tuple[str, str]]:
    return [(str(prefix / "etc" / name), f"/etc/{name}") for name in ("passwd", "group", "shadow", "gshadow")]


def run(spec: Spec, work: Path) -> list[dict]:
    """Run the spec in a new private mount namespace; one {"exit", "output"} per command."""
    spec_file = work / "spec.json"
    spec_file.write_text(json.dumps(asdict(spec)))
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            sys.executable,
            "-m",
            "tests.support.namespace",
            str(spec_file),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"namespace child failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


# --- the child, inside the namespace ---------------------------------------------------


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _confine(sandbox: Sandbox) -> None:
    # Each allowed path becomes a mount of its own first, so that remounting the root
    # read-only and non-executable afterwards leaves them as configured. Outer paths are
    # mounted before the paths inside them, so the most specific setting wins, as in
    # systemd (a venv under a writable /tmp stays executable).
    allowed = [(path, "ro,exec") for path in sandbox.exec_paths]
    allowed += [(path, "rw,noexec") for path in sandbox.writable_paths]
    for path, options in sorted(allowed, key=lambda item: len(Path(item[0]).parts)):
        _mount("--bind", path, path)
        _mount("-o", f"remount,bind,{options}", path)
    flags = ["remount", "bind"]
    flags.append("ro" if sandbox.read_only_root else "rw")
    flags.append("noexec" if sandbox.no_exec_root else "exec")
    _mount("-o", ",".join(flags), "/")


def _run_one(argv: list[str], env: dict[str, str], uid: int, gid: int, groups: list[int]) -> dict:
    # fork + exec by hand: after _confine, /usr/bin may not be executable, so no
    # helper like setpriv or su is available to switch users.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            os.setgroups(groups)
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.execve(argv[0], argv, env)  # noqa: S606 - a list argv from the test, no shell
        except OSError as error:
            os.write(2, f"exec failed: {error}\n".encode())
        os._exit(127)
    os.close(write_end)
    output = b""
    while chunk := os.read(read_end, 65536):
        output += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return {"exit": os.waitstatus_to_exitcode(status), "output": output.decode(errors="replace")}


def _child(spec_file: str) -> None:
    raw = json.loads(Path(spec_file).read_text())
    sandbox = Sandbox(**raw["sandbox"]) if raw.get("sandbox") else None
    _mount("--make-rprivate", "/")
    for source, target in raw["binds"]:
        _mount("--bind", source, target)
    if sandbox is not None:
        _confine(sandbox)
    results = []
    for command in raw["commands"]:
        if command.get("as_root"):
            results.append(_run_one(command["argv"], command["env"], 0, 0, []))
        else:
            results.append(_run_one(command["argv"], command["env"], raw["uid"], raw["gid"], raw["groups"]))
    print(json.dumps(results))


if __name__ == "__main__":
    _child(sys.argv[1])
