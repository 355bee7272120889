"""Run a submission's processes under bubblewrap (``bwrap``).

Inside the sandbox a submission sees a read-only copy of the system, an empty
read-only ``/tmp``, no network (its own empty network namespace with only loopback), its
own process namespace, no capabilities and, where user namespaces work, the
unprivileged user ``nobody``. Its only writable folder is its own scratch
folder. The course folder, the masters, the submissions folder, the output
folder, the other submissions' scratch folders and the home folders are hidden
(empty in-memory folders are mounted over them); only the Python environment
and the ``mlmlab`` library are mounted back, read-only.

:func:`probe` checks once per process that ``bwrap`` exists and can create
those namespaces here, and says which sandbox will be used.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Sandbox", "probe", "minimal_env"]

_NOBODY = "65534"


@dataclass(frozen=True)
class Sandbox:
    """How submissions are confined.

    Attributes
    ----------
    bwrap : str or None
        Path of the bwrap executable; None means no sandbox (``--no-sandbox``).
    user_namespace : bool
        Whether the sandbox runs the submission as the unprivileged user ``nobody``.
    description : str
        One line for the instructor: which sandbox is used.
    """

    bwrap: str | None
    user_namespace: bool
    description: str

    @property
    def enabled(self) -> bool:
        return self.bwrap is not None

    def wrap(self, command: list[str], scratch: Path, *, hide: list[Path]) -> list[str]:
        """``command`` run inside the sandbox, with ``scratch`` as its only writable folder.

        Parameters
        ----------
        command : list of str
            The program and its arguments.
        scratch : Path
            The submission's own folder (read-write, the working directory).
        hide : list of Path
            Folders to hide (masters, submissions, output, the scratch root, the course folder).

        Returns
        -------
        list of str
            The full command line (``command`` itself when the sandbox is disabled).
        """
        if self.bwrap is None:
            return list(command)
        return [self.bwrap, *_flags(self.user_namespace), *_mounts(scratch, hide), "--", *command]


def _flags(user_namespace: bool) -> list[str]:
    flags = ["--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"]
    if user_namespace:
        flags += ["--unshare-user", "--uid", _NOBODY, "--gid", _NOBODY]
    return flags


def _exposed() -> list[Path]:
    """What the kernel needs from hidden folders: the Python installation and environment, and the
    mlmlab library (a pyenv Python under /root, a venv inside the course folder...)."""
    keep = [Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent]
    spec = importlib.util.find_spec("mlmlab")
    if spec is not None and spec.submodule_search_locations:
        keep += [Path(p) for p in spec.submodule_search_locations]
    return [p.resolve() for p in keep if p.exists()]


def _depth(p: Path) -> int:
    return len(p.parts)


def _mounts(scratch: Path, hide: list[Path]) -> list[str]:
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"]
    hidden = {Path("/root"), Path("/home"), Path("/tmp"), Path("/var/tmp"), Path.home().resolve()}
    hidden |= {Path(h).resolve() for h in hide}
    hidden = {h for h in hidden if h.is_dir() and h != Path("/")}
    for folder in sorted(hidden, key=_depth):
        args += ["--tmpfs", str(folder)]
    for folder in sorted(_exposed(), key=_depth):
        if any(folder.is_relative_to(h) for h in hidden):
            args += ["--ro-bind", str(folder), str(folder)]
    scratch = Path(scratch).resolve()
    args += ["--bind", str(scratch), str(scratch)]
    # the empty folders mounted over hidden ones become read-only too (once the binds inside them
    # exist): the scratch folder is the only place a submission can write to disk
    for folder in sorted(hidden, key=_depth):
        args += ["--remount-ro", str(folder)]
    args += ["--chdir", str(scratch)]
    return args


def minimal_env(scratch: Path) -> dict[str, str]:
    """The environment a submission gets: no instructor variables, home and caches in ``scratch``.

    Parameters
    ----------
    scratch : Path
        The submission's own folder.

    Returns
    -------
    dict of str to str
    """
    scratch = Path(scratch).resolve()
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update({
        "HOME": str(scratch / "home"), "TMPDIR": str(scratch / "tmp"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "JUPYTER_CONFIG_DIR": str(scratch / "home" / ".jupyter"),
        "JUPYTER_DATA_DIR": str(scratch / "home" / ".local" / "share" / "jupyter"),
        "IPYTHONDIR": str(scratch / "home" / ".ipython"), "MPLCONFIGDIR": str(scratch / "home" / ".mpl"),
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


@functools.lru_cache(maxsize=None)
def probe() -> Sandbox | str:
    """The sandbox available here, or a one-line reason why there is none.

    Returns
    -------
    Sandbox or str
        A :class:`Sandbox` when ``bwrap`` runs here (with a user namespace if possible),
        otherwise the reason, naming the fix.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return ("bubblewrap (bwrap) is not installed; install it with `apt-get install bubblewrap` "
                "(tools/install_system_deps.sh does)")
    reason = ""
    for user_namespace in (True, False):
        # as in a submission's sandbox: an empty /tmp, with the Python and the course library kept
        # (a course folder or venv under /tmp stays reachable)
        keep = [f for f in sorted(_exposed(), key=_depth) if f.is_relative_to(Path("/tmp").resolve())]
        cmd = [bwrap, *_flags(user_namespace), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--tmpfs", "/tmp", *[a for f in keep for a in ("--ro-bind", str(f), str(f))],
               "--", sys.executable, "-I", "-c", "import os; print(os.getuid())"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = str(exc)
            continue
        if done.returncode == 0:
            version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip()
            who = "user nobody" if user_namespace else f"uid {os.getuid()} without capabilities"
            return Sandbox(bwrap, user_namespace,
                           f"{version or 'bubblewrap'}: no network, read-only system, "
                           f"writes only in its own scratch folder, runs as {who}")
        reason = (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1]
    return (f"bubblewrap (bwrap) cannot create its namespaces here ({reason}); user namespaces may be "
            "disabled (sysctl kernel.unprivileged_userns_clone) or blocked by the container")
