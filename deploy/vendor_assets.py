"""Vendor the browser files the project serves or tests with, from their npm packages.

Run by ``make vendor-assets`` (and by ``make install`` when a file is missing). Each package is
fetched with ``npm pack`` at a pinned version into a temporary directory, and only the files
listed below are copied into the repository, with the package's licence. The copies are
committed, so nothing is fetched at run time and no page loads anything from a CDN.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class VendoredPackage:
    name: str
    version: str
    target: Path
    files: tuple[str, ...]


PACKAGES = (
    # axe-core: accessibility rules injected by the browser tests (shared/testing/browser.py).
    VendoredPackage("axe-core", "4.14.1", REPO_ROOT / "shared/testing/assets/axe-core", ("axe.min.js", "LICENSE")),
    # Swagger UI: the services' /docs pages (shared/http.py), served by each service.
    VendoredPackage(
        "swagger-ui-dist", "5.35.0", REPO_ROOT / "shared/static/swagger-ui",
        ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"),
    ),
)


def missing(package: VendoredPackage) -> bool:
    return any(not (package.target / f).is_file() for f in package.files)


def vendor(package: VendoredPackage) -> None:
    """npm pack ``package`` into a temporary directory and copy its listed files into the repository."""
    with tempfile.TemporaryDirectory(prefix="waypoint-vendor-") as tmp:
        subprocess.run(
            ["npm", "pack", f"{package.name}@{package.version}", "--silent", "--pack-destination", tmp],
            check=True, cwd=tmp, stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        package.target.mkdir(parents=True, exist_ok=True)
        for name in package.files:
            shutil.copyfile(Path(tmp) / "package" / name, package.target / name)
        (package.target / "VERSION").write_text(f"{package.name}@{package.version} (npm)\n")


def main(argv: list[str]) -> int:
    """``--missing``: only packages with a file missing (what ``make install`` runs)."""
    only_missing = "--missing" in argv
    for package in PACKAGES:
        if only_missing and not missing(package):
            continue
        print(f"vendoring {package.name}@{package.version} -> {package.target.relative_to(REPO_ROOT)}")
        vendor(package)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
