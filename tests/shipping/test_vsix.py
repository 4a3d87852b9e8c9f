"""What a user on each platform gets from its .vsix.

Each package is opened as the zip it is: the manifest's target platform, libcst's native
parser for every covered CPython (file format and machine read from the binary header,
named as that CPython looks for it), no binary of another platform, the bundle's
manifest.json agreeing with the files, and every dependency a covered Python needs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .binaries import Format, Machine, identify
from .conftest import REPO, UNIVERSAL, open_vsix, package_json, project_version, required, targets

PLATFORM_TARGETS = sorted(
    [
        "linux-x64",
        "linux-arm64",
        "alpine-x64",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
        "win32-arm64",
    ]
)
LIBS = "extension/bundled/libs/"

# The file name CPython 3.X on each platform looks for (importlib.machinery.EXTENSION_SUFFIXES).
NATIVE_NAME = {
    "linux-x64": "native.cpython-3{minor}-x86_64-linux-gnu.so",
    "linux-arm64": "native.cpython-3{minor}-aarch64-linux-gnu.so",
    "alpine-x64": "native.cpython-3{minor}-x86_64-linux-musl.so",  # 3.10: see native_name
    "darwin-x64": "native.cpython-3{minor}-darwin.so",
    "darwin-arm64": "native.cpython-3{minor}-darwin.so",
    "win32-x64": "native.cp3{minor}-win_amd64.pyd",
    "win32-arm64": "native.cp3{minor}-win_arm64.pyd",
}


def native_name(target: str, version: str) -> str:
    minor = version.split(".")[1]
    if target == "alpine-x64" and version == "3.10":
        # CPython before 3.11 names its musl extension suffix "linux-gnu" (the wheel follows it)
        return NATIVE_NAME["linux-x64"].format(minor=minor)
    return NATIVE_NAME[target].format(minor=minor)


def test_every_target_is_checked() -> None:
    assert sorted(targets()["TARGETS"]) == PLATFORM_TARGETS == sorted(NATIVE_NAME)


def _vsix_manifest(z: zipfile.ZipFile) -> str:
    return z.read("extension.vsixmanifest").decode()


def _bundle_manifest(z: zipfile.ZipFile) -> dict[str, Any]:
    return dict(json.loads(z.read("extension/bundled/manifest.json")))


@pytest.mark.parametrize("target", PLATFORM_TARGETS)
def test_manifest_target_platform(target: str) -> None:
    with open_vsix(target) as z:
        identity = re.search(r"<Identity [^>]*>", _vsix_manifest(z))
        assert identity is not None
        assert f'TargetPlatform="{target}"' in identity.group(0)
        assert _bundle_manifest(z)["target"] == target


@pytest.mark.parametrize("target", PLATFORM_TARGETS)
def test_libcst_native_for_each_covered_python(target: str) -> None:
    spec = targets()["TARGETS"][target]
    want_format, want_machine = Format(spec["binary"]["format"]), Machine(spec["binary"]["machine"])
    with open_vsix(target) as z:
        pythons = _bundle_manifest(z)["pythons"]
        assert pythons == spec["pythons"]
        for version in pythons:
            name = native_name(target, version)
            binary = identify(z.read(f"{LIBS}libcst/{name}"))
            assert binary is not None, name
            assert (binary.format, binary.machines) == (want_format, (want_machine,)), name


@pytest.mark.parametrize("target", PLATFORM_TARGETS)
def test_no_binary_of_another_platform(target: str) -> None:
    spec = targets()["TARGETS"][target]
    want = (Format(spec["binary"]["format"]), (Machine(spec["binary"]["machine"]),))
    libc = spec["env"].get("libc")
    with open_vsix(target) as z:
        binaries = {n: identify(z.read(n)) for n in z.namelist()}
        found = {n: b for n, b in binaries.items() if b is not None}
        for name, binary in found.items():
            assert (binary.format, binary.machines) == want, name
            assert binary.libc == libc, name
        assert len(found) >= len(spec["pythons"])


@pytest.mark.parametrize("target", PLATFORM_TARGETS)
def test_bundle_manifest_matches_the_files(target: str) -> None:
    with open_vsix(target) as z:
        manifest = _bundle_manifest(z)
        names = z.namelist()
        dists = sorted(
            {
                n[len(LIBS) :].split("/")[0][: -len(".dist-info")]
                for n in names
                if ".dist-info/" in n
            }
        )
        natives = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith(f"{LIBS}libcst/native"))
        assert manifest["distributions"] == dists
        assert manifest["libcstNative"] == natives
        assert f"torchmode-{project_version()}" in dists
        assert manifest["platformTag"] == targets()["TARGETS"][target]["platformTag"]
        pins = targets()["TARGETS"][target]["pins"]
        assert manifest["pins"] == pins
        for project, version in pins.items():
            assert f"{project}-{version}" in dists
        for project in targets()["EXCLUDED"]:
            assert not any(d.lower().startswith(f"{project.replace('-', '_')}-") for d in dists)


def _closure() -> Any:
    spec = importlib.util.spec_from_file_location("closure", REPO / "client/scripts/closure.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target", PLATFORM_TARGETS)
def test_every_covered_python_has_its_dependencies(target: str) -> None:
    """E.g. tomli and exceptiongroup for 3.10, which pip run by 3.11 would leave out."""
    spec = targets()["TARGETS"][target]
    closure = _closure()
    with open_vsix(target) as z, tempfile.TemporaryDirectory() as tmp:
        for name in z.namelist():
            if ".dist-info/" in name and name.endswith("/METADATA"):
                z.extract(name, tmp)
        libs = Path(tmp) / LIBS
        for version in spec["pythons"]:
            env = {**spec["env"], "python_version": version}
            assert closure.missing(libs, env, spec["pins"], targets()["EXCLUDED"]) == [], version
        if "3.10" in spec["pythons"]:
            assert {"tomli", "exceptiongroup"} <= set(closure.installed(libs))


ALLOWED = re.compile(
    r"^(\[Content_Types\]\.xml|extension\.vsixmanifest|extension/(package\.json|readme\.md|changelog\.md"
    r"|LICENSE\.txt|dist/extension\.js|images/[a-z-]+\.png|bundled/.+))$"
)


@pytest.mark.parametrize("target", [*PLATFORM_TARGETS, UNIVERSAL])
def test_no_stray_files(target: str) -> None:
    with open_vsix(target) as z:
        stray = [n for n in z.namelist() if not ALLOWED.match(n)]
        assert stray == []
        names = set(z.namelist())
        assert {"extension/package.json", "extension/readme.md", "extension/changelog.md"} <= names
        assert "extension/images/icon.png" in names
        junk = [n for n in names if "__pycache__" in n and not n.endswith(".pyc") or "/bin/" in n]
        assert junk == []


def test_universal_has_no_bundled_server() -> None:
    with open_vsix(UNIVERSAL) as z:
        assert not [n for n in z.namelist() if n.startswith("extension/bundled/")]
        assert "TargetPlatform" not in _vsix_manifest(z)
        manifest = json.loads(z.read("extension/package.json"))
        strategy = manifest["contributes"]["configuration"]["properties"][
            "torchmode.importStrategy"
        ]
        assert strategy["default"] == "fromEnvironment"
        assert "pip install torchmode" in strategy["markdownDescription"]
        assert manifest["version"] == package_json()["version"]


@pytest.mark.parametrize("target", [*PLATFORM_TARGETS, UNIVERSAL])
def test_readme_images_point_at_the_repository(target: str) -> None:
    """The marketplace page shows the README's images from the repository, not the package."""
    repo = package_json()["repository"]["url"].removesuffix(".git")
    with open_vsix(target) as z:
        readme = z.read("extension/readme.md").decode()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert images
    for url in images:
        assert url.startswith(f"{repo}/raw/HEAD/client/images/"), url
        assert (REPO / "client" / url.removeprefix(f"{repo}/raw/HEAD/client/")).is_file(), url


def _run_bundled(libs: Path, python: str, args: list[str], cwd: Path) -> str:
    env = {"PYTHONPATH": str(libs), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [python, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def _local_python(version: str) -> str | None:
    """A working CPython ``version`` on this machine (PATH, then pyenv's versions), or None."""
    import shutil

    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        shutil.which(f"python{version}"),
        *sorted(map(str, root.glob(f"{version}.*/bin/python"))),
    ]
    for python in filter(None, candidates):
        check = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if check.returncode == 0 and check.stdout.strip() == version:
            return python
    return None


def test_host_bundle_runs_on_the_local_pythons(tmp_path: Path) -> None:
    """The linux-x64 server checks and fixes a project with every local CPython it covers."""
    if sys.platform != "linux":
        pytest.skip("the linux-x64 bundle runs on Linux")
    found = {v: p for v in targets()["ALL_PYTHONS"] if (p := _local_python(v))}
    if not found:
        pytest.skip("no CPython 3.10-3.14 found")
    with open_vsix("linux-x64") as z:
        z.extractall(tmp_path / "vsix", [n for n in z.namelist() if n.startswith(LIBS)])
    libs = tmp_path / "vsix" / LIBS
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.torchmode]\nselect = ["TM004"]\n')
    (project / "train.py").write_text("import torch\n\nmodel = torch.nn.Linear(2, 2)\nmodel.eval\n")
    for version, python in sorted(found.items()):
        out = _run_bundled(
            libs, python, ["-m", "torchmode", "check", "--diff", "train.py"], project
        )
        assert "+model.eval()" in out, (version, out)
        probe = _run_bundled(
            libs, python, ["-c", "import torchmode.lsp.server, libcst.native; print('ok')"], project
        )
        assert probe.strip() == "ok", version


def test_marketplace_metadata() -> None:
    """What the Marketplace and Open VSX show: icon, links, banner, changelog, README."""
    pkg = package_json()
    icon = REPO / "client" / pkg["icon"]
    header = icon.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (128, 128)
    repo = "https://github.com/torchmode/torchmode"
    assert pkg["repository"] == {"type": "git", "url": f"{repo}.git"}
    assert pkg["bugs"]["url"] == f"{repo}/issues"
    assert pkg["homepage"].startswith(repo)
    assert re.fullmatch(r"#[0-9a-f]{6}", pkg["galleryBanner"]["color"])
    assert pkg["galleryBanner"]["theme"] in ("dark", "light")
    assert pkg["publisher"] and pkg["license"] == "MIT" and pkg["categories"]
    assert f"## {pkg['version']}" in (REPO / "CHANGELOG.md").read_text()
    readme = (REPO / "client" / "README.md").read_text()
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert (REPO / "client" / image).is_file(), image


def test_vsce_ls_lists_only_what_runs() -> None:
    """`vsce ls` in the staged extension (the universal one: the same files minus bundled/)."""
    if not (REPO / "dist" / "extension.js").exists() or not (REPO / "node_modules").exists():
        if required(UNIVERSAL):
            pytest.fail("dist/extension.js or node_modules is missing (npm ci; npm run build:prod)")
        pytest.skip("dist/extension.js or node_modules is missing")
    script = (
        "import { stage, vsce } from './client/scripts/package-vsix.mjs';"
        "stage('universal'); const r = vsce(['ls', '--no-dependencies']);"
        "process.stdout.write(r.stdout); process.exit(r.status);"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    listed = sorted(done.stdout.split())
    assert listed == sorted(
        ["CHANGELOG.md", "LICENSE", "README.md", "dist/extension.js", "package.json"]
        + [f"images/{p.name}" for p in (REPO / "client" / "images").glob("*.png")]
    )
