"""Requirements still missing from a ``pip install --target`` folder, for a target platform.

``pip install --platform X --python-version 3.10`` picks wheels for the target but
evaluates environment markers against the Python running pip, so a bundle built with
3.11 silently lacks ``tomli`` and ``exceptiongroup`` (``python_version < "3.11"``) that
the server needs on 3.10. The bundler therefore installs with ``--no-deps`` and asks this
script, until it prints nothing, which requirements of the installed distributions hold
in the *target's* marker environment and are not installed yet.

    python closure.py DIR '{"python_version": "3.10", "sys_platform": "win32", ...}' \
        '{"pins": {"libcst": "1.8.6"}, "exclude": ["pyyaml"]}'

Prints one requirement per line (pins replace the specifier of the named project;
excluded projects are never asked for).
Runs on the build machine's Python, 3.10 or newer; uses ``packaging`` (pip's own copy if
it is not installed).
"""

from __future__ import annotations

import json
import sys
from email.parser import HeaderParser
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover - pip always carries a copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name


def marker_env(target: dict[str, str]) -> dict[str, str]:
    """The full marker environment of CPython ``python_version`` on the target."""
    version = target["python_version"]
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "platform_python_implementation": "CPython",
        "python_full_version": f"{version}.0",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
        **{k: v for k, v in target.items() if k != "libc"},
    }


def installed(folder: Path) -> dict[str, list[str]]:
    """Installed project name -> its Requires-Dist lines."""
    out: dict[str, list[str]] = {}
    for info in folder.glob("*.dist-info"):
        meta = HeaderParser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        out[canonicalize_name(meta["Name"])] = meta.get_all("Requires-Dist") or []
    return out


def missing(
    folder: Path, target: dict[str, str], pins: dict[str, str], exclude: list[str]
) -> list[str]:
    env = marker_env(target)
    have = installed(folder)
    have.update({canonicalize_name(name): [] for name in exclude})
    pinned = {canonicalize_name(k): v for k, v in pins.items()}
    wanted: dict[str, Requirement] = {}
    for requires in have.values():
        for line in requires:
            req = Requirement(line)
            name = canonicalize_name(req.name)
            if name in have or (req.marker is not None and not req.marker.evaluate(env)):
                continue
            if name in wanted:  # two dependants: both specifiers must hold
                req.specifier &= wanted[name].specifier
            wanted[name] = req
    return sorted(
        f"{req.name}=={pinned[name]}" if name in pinned else f"{req.name}{req.specifier}"
        for name, req in wanted.items()
    )


def main(argv: list[str]) -> int:
    folder, target, choices = Path(argv[0]), json.loads(argv[1]), json.loads(argv[2])
    for requirement in missing(folder, target, choices["pins"], choices["exclude"]):
        print(requirement)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
