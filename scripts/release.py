#!/usr/bin/env python3
"""Cut and check mlci releases (docs/releasing.md).

    scripts/release.py bump 1.2.0           # version everywhere, CHANGELOG, constraints
    scripts/release.py check [--tag v1.2.0] # the tree agrees with itself (and the tag)
    scripts/release.py notes 1.2.0          # the CHANGELOG section, for the release page
    scripts/release.py tag [--push REMOTE]  # v1.2.0, 1.2.0 and the moved v1, at HEAD
    scripts/release.py check-dist dist 1.2.0  # the built sdist and wheel
    scripts/release.py newest 1.2.0 < tags    # is 1.2.0 the newest 1.x? (moving v1)

One version, two tag schemes: the package version (mlci/__init__.py) is the
single source. A release X.Y.Z is the git tag vX.Y.Z (GitHub Actions users pin
it, or the major tag vX, which moves to the newest X.*.*) and the tag X.Y.Z
(the GitLab CI/CD Catalog accepts only bare semantic versions). The GitLab
components' `mlci-version` input, the setup action's `mlci-version` input and
the example pipeline default to that version, and mlci/constraints.txt is
generated for it; `check` fails when any of them disagree.
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "mlci" / "__init__.py"
CHANGELOG = ROOT / "CHANGELOG.md"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
# Where a file defaults to the release's version: (path glob, pattern with one group).
DEFAULTS = (
    ("templates/*.yml", re.compile(r'^    mlci-version:\n(?:      .*\n)*?      default: "([^"]*)"$',
                                   re.MULTILINE)),
    ("setup/action.yml", re.compile(r'^  mlci-version:\n(?:    .*\n)*?    default: "([^"]*)"$',
                                    re.MULTILINE)),
    ("examples/.gitlab-ci.yml", re.compile(r'^    MLCI_INSTALL_VERSION: "([^"]*)"$',
                                           re.MULTILINE)),
)
SECTION = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?[ \t]*$",
                     re.MULTILINE)


class ReleaseError(Exception):
    """A check failed: the message says which file and what was expected."""


def current_version(root: Path = ROOT) -> str:
    match = VERSION_LINE.search((root / "mlci" / "__init__.py").read_text(encoding="utf-8"))
    if not match:
        raise ReleaseError("mlci/__init__.py: no line __version__ = \"X.Y.Z\"")
    return match.group(1)


def parse_tag(tag: str) -> str:
    """vX.Y.Z or X.Y.Z → X.Y.Z; anything else is not a release tag."""
    version = tag[1:] if tag.startswith("v") else tag
    if not SEMVER.match(version):
        raise ReleaseError(f"tag {tag!r} is not a release tag (expected vX.Y.Z or X.Y.Z)")
    return version


def defaults(root: Path = ROOT) -> list[tuple[str, str]]:
    """(file, version it defaults to) for every place that names the release's version."""
    found = []
    for pattern, regex in DEFAULTS:
        for path in sorted(root.glob(pattern)):
            for match in regex.finditer(path.read_text(encoding="utf-8")):
                found.append((str(path.relative_to(root)), match.group(1)))
    return found


def sections(text: str) -> dict[str, tuple[str | None, str]]:
    """CHANGELOG.md: section name → (date or None, body)."""
    heads = list(SECTION.finditer(text))
    found = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end():end]
        body = re.sub(r"^\[[^\]]+\]: \S+\s*$", "", body, flags=re.MULTILINE)  # link refs
        found[head.group("name")] = (head.group("date"), body.strip())
    return found


def notes(version: str, root: Path = ROOT, allow_unreleased: bool = False) -> str:
    """The CHANGELOG section of `version` (or, for a dry run, Unreleased)."""
    found = sections((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    if version in found and found[version][1]:
        return found[version][1]
    if allow_unreleased and found.get("Unreleased", (None, ""))[1]:
        return found["Unreleased"][1]
    raise ReleaseError(f"CHANGELOG.md: no section '## [{version}] - YYYY-MM-DD' with notes "
                       "(run scripts/release.py bump first)")


def check(root: Path = ROOT, tag: str | None = None) -> str:
    """The release version when the tree agrees with itself (and with `tag`); else raise."""
    version = current_version(root)
    if not SEMVER.match(version):
        raise ReleaseError(f"mlci/__init__.py: __version__ {version!r} is not X.Y.Z")
    if tag is not None and parse_tag(tag) != version:
        raise ReleaseError(f"tag {tag} does not match mlci/__init__.py, which says {version}")
    wrong = [f"{path} ({found})" for path, found in defaults(root) if found != version]
    if wrong:
        raise ReleaseError(f"mlci-version defaults differ from {version}: {', '.join(wrong)}")
    if tag is not None:
        date = sections((root / "CHANGELOG.md").read_text(encoding="utf-8")).get(
            version, (None, ""))[0]
        if date is None:
            raise ReleaseError(f"CHANGELOG.md: the section for {version} has no date "
                               f"('## [{version}] - YYYY-MM-DD')")
        notes(version, root)
    done = subprocess.run([sys.executable, str(root / "scripts" / "constraints.py"), "--check"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseError(done.stderr.strip() or "mlci/constraints.txt is stale")
    return version


def bump(version: str, root: Path = ROOT, today: str | None = None,
         regenerate: bool = True) -> None:
    """Set `version` everywhere, date the Unreleased CHANGELOG section as it, and regenerate
    the constraints when they are stale (`regenerate`; it needs the package index)."""
    if not SEMVER.match(version):
        raise ReleaseError(f"version {version!r} is not X.Y.Z")
    init = root / "mlci" / "__init__.py"
    init.write_text(VERSION_LINE.sub(f'__version__ = "{version}"',
                                     init.read_text(encoding="utf-8")), encoding="utf-8")
    for pattern, regex in DEFAULTS:
        for path in sorted(root.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            path.write_text(regex.sub(lambda m: m.group(0).replace(
                f'"{m.group(1)}"', f'"{version}"'), text), encoding="utf-8")
    changelog = root / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    found = sections(text)
    if version not in found:
        if not found.get("Unreleased", (None, ""))[1]:
            raise ReleaseError("CHANGELOG.md: the Unreleased section is empty: say what changed")
        date = today or datetime.date.today().isoformat()
        text = text.replace("## [Unreleased]", f"## [Unreleased]\n\n## [{version}] - {date}", 1)
        changelog.write_text(text, encoding="utf-8")
    constraints = [sys.executable, str(root / "scripts" / "constraints.py")]
    if regenerate and subprocess.run([*constraints, "--check"],
                                     capture_output=True).returncode != 0:
        subprocess.run(constraints, check=True)


def git(*args: str, root: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def tag(root: Path = ROOT, remotes: tuple[str, ...] = ()) -> list[str]:
    """Tag HEAD as vX.Y.Z and X.Y.Z and move vX to it (when X.Y.Z is the newest X.*.*);
    push them to each remote. Returns the tags made."""
    version = check(root, tag=f"v{current_version(root)}")
    number = version.split(".")[0]
    major = f"v{number}"
    existing = git("tag", "--list", f"v{number}.*", f"{number}.*", root=root).split()
    made = []
    for name in (f"v{version}", version):
        git("tag", "-a", name, "-m", f"mlci {version}", root=root)
        made.append(name)
    if newest(version, existing):
        git("tag", "-f", "-a", major, "-m", f"mlci {version} (newest {major}.x)", root=root)
        made.append(major)
    for remote in remotes:
        git("push", remote, *(f"refs/tags/{name}" for name in made if name != major), root=root)
        if major in made:
            git("push", "--force", remote, f"refs/tags/{major}", root=root)
    return made


def newest(version: str, tags: list[str]) -> bool:
    """Whether `version` is at least every X.Y.Z among `tags` of the same major (refs,
    vX.Y.Z or X.Y.Z): a patch of an older minor must not move vX backwards."""
    key = tuple(int(p) for p in version.split("."))
    for name in tags:
        name = name.rsplit("/", 1)[-1]
        bare = name[1:] if name.startswith("v") else name
        if SEMVER.match(bare):
            other = tuple(int(p) for p in bare.split("."))
            if other[0] == key[0] and other > key:
                return False
    return True


def check_dist(folder: Path, version: str) -> list[str]:
    """The sdist and the wheel of `version`: names, metadata, and the files a release
    must carry (constraints, schemas, license). Returns the file names."""
    wheels = sorted(folder.glob("*.whl"))
    sdists = sorted(folder.glob("*.tar.gz"))
    expected = ([f"mlci-{version}-py3-none-any.whl"], [f"mlci-{version}.tar.gz"])
    if [p.name for p in wheels] != expected[0] or [p.name for p in sdists] != expected[1]:
        raise ReleaseError(f"{folder}: expected {expected[0][0]} and {expected[1][0]}, found "
                           f"{', '.join(sorted(p.name for p in folder.iterdir())) or 'nothing'}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        meta = wheel.read(f"mlci-{version}.dist-info/METADATA").decode()
    for needed in ("mlci/constraints.txt", "mlci/schemas/result.schema.json",
                   f"mlci-{version}.dist-info/licenses/LICENSE"):
        if needed not in names:
            raise ReleaseError(f"{wheels[0].name}: {needed} is missing")
    for line in (f"Version: {version}", "License-Expression: Apache-2.0",
                 "Provides-Extra: server"):
        if line not in meta.splitlines():
            raise ReleaseError(f"{wheels[0].name}: METADATA has no line {line!r}")
    with tarfile.open(sdists[0]) as sdist:
        members = {m.name.split("/", 1)[-1] for m in sdist.getmembers()}
    for needed in ("mlci/constraints.txt", "LICENSE", "pyproject.toml"):
        if needed not in members:
            raise ReleaseError(f"{sdists[0].name}: {needed} is missing")
    return [wheels[0].name, sdists[0].name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bump").add_argument("version")
    checking = sub.add_parser("check")
    checking.add_argument("--tag", help="the release tag (vX.Y.Z or X.Y.Z) being built")
    noting = sub.add_parser("notes")
    noting.add_argument("version")
    noting.add_argument("--allow-unreleased", action="store_true",
                        help="fall back to the Unreleased section (dry runs)")
    tagging = sub.add_parser("tag")
    tagging.add_argument("--push", action="append", default=[], metavar="REMOTE")
    dist = sub.add_parser("check-dist")
    dist.add_argument("folder", type=Path)
    dist.add_argument("version")
    sub.add_parser("newest").add_argument("version")
    args = parser.parse_args(argv)
    try:
        if args.command == "bump":
            bump(args.version)
            print(f"mlci {args.version}: version, defaults, CHANGELOG and constraints updated; "
                  "review, commit, then scripts/release.py tag")
        elif args.command == "check":
            print(check(tag=args.tag))
        elif args.command == "notes":
            print(notes(args.version, allow_unreleased=args.allow_unreleased))
        elif args.command == "tag":
            print(" ".join(tag(remotes=tuple(args.push))))
        elif args.command == "check-dist":
            print(" ".join(check_dist(args.folder, args.version)))
        else:
            return 0 if newest(args.version, sys.stdin.read().split()) else 1
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
