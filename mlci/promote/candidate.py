"""The model being promoted: which version (or URI still to register), its run, its files.

Gates must be able to say "this pass was earned by this model", so the
candidate knows every name the model goes by (the URI given, its registered
source, `runs:/<run>/…`, `models:/<name>/<version>`) and, when a gate needs
it, the digest of its files, computed exactly as `mlci lineage tag` computes
a model digest (the signature file excluded), so the two can be compared.

A model folder is different: its path says nothing (retraining in place keeps
the path and changes the bytes). So the folder is first copied, the gates
judge the copy, the registry receives the copy, and an earlier version is
reused only if its files digest (every file, mlci.sig included) is the copy's."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mlci.errors import InputError
from mlci.lineage.digest import model_digest
from mlci.lineage.hashing import snapshot
from mlci.registry.client import SOURCE_TAG, Registry, VersionInfo

_RUNS = re.compile(r"^runs:/(?P<run>[^/]+)(?:/(?P<path>.*))?$")
_MODELS_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_MODELS_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[\w\-]+)/?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def parse_runs_uri(uri: str) -> tuple[str, str] | None:
    match = _RUNS.match(uri)
    if match is None:
        return None
    return match["run"], (match["path"] or "").strip("/")


@dataclass
class Candidate:
    registry: Registry
    name: str
    uri: str | None  # as given with --model; None with --version
    version: VersionInfo | None  # None until a --model URI is registered
    run_id: str | None
    _files: Path | None = None
    _digest: str | None = None
    _tmp: list[str] = field(default_factory=list)
    files_digest: str | None = None  # a folder's: every file, mlci.sig included

    @property
    def is_folder(self) -> bool:
        """A model folder on this machine, to be copied into the registry."""
        return self.files_digest is not None

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"{self.name} v{self.version.version}"
        return str(self.uri)

    @property
    def reference(self) -> str:
        """The URI to load or download the model from."""
        return self.version.uri if self.version is not None else str(self.uri)

    def files(self) -> Path:
        """A local folder with the model's files (downloaded once, removed by `cleanup`)."""
        if self._files is None:
            destination = tempfile.mkdtemp(prefix="mlci-promote-")
            self._tmp.append(destination)
            self._files = (
                self.registry.download_version(self.name, self.version.version, destination)
                if self.version is not None else self.registry.download(str(self.uri),
                                                                        destination))
        return self._files

    @property
    def known_digest(self) -> str | None:
        """The digest if a gate already computed it (nothing is downloaded for it)."""
        return self._digest

    def digest(self) -> str:
        if self._digest is None:
            self._digest = digest_of(self.files())
        return self._digest

    def cleanup(self) -> None:
        for folder in self._tmp:
            shutil.rmtree(folder, ignore_errors=True)
        self._tmp.clear()

    def refers_to(self, ref: str) -> tuple[bool, str]:
        """Does a result document's `subject.model` name this model? And why (not)."""
        names = {n for n in ((None if self.is_folder else self.uri),
                             *((self.version.source, self.version.uri) if self.version else ()))
                 if n}
        if ref in names:
            return True, f"judged {ref}, the model being promoted"
        runs = parse_runs_uri(ref)
        if runs is not None:
            return self._same_run(ref, runs)
        match = _MODELS_VERSION.match(ref)
        if match is not None:
            same = (match["name"] == self.name and self.version is not None
                    and int(match["version"]) == self.version.version)
            return same, (f"judged {ref}" + ("" if same else f", not {self.label}"))
        match = _MODELS_ALIAS.match(ref)
        if match is not None and match["name"] == self.name:
            held = self.registry.alias_version(self.name, match["alias"])
            same = self.version is not None and held == self.version.version
            now = f"v{held}" if held is not None else "nothing"
            return same, (f"judged {ref}, which now points at {now}"
                          + ("" if same else f", not {self.label}"))
        if not _SCHEME.match(ref) and (os.path.exists(ref) or ref == self.uri):
            # What the folder holds now is not what the step judged then (retrained in
            # place?): only the digest the step recorded can tie its result to a model.
            return False, (f"judged the folder {ref}, but records no model_digest, so which "
                           f"files it judged is unknown (a folder is identified by its "
                           f"content, not its path): rerun the step with --model {ref}")
        return False, (f"judged {ref}, which cannot be tied to {self.label} (not its URI, run, "
                       "version or files)")

    def _same_run(self, ref: str, parsed: tuple[str, str]) -> tuple[bool, str]:
        run, path = parsed
        if self.run_id is None:
            return False, f"judged {ref}, but {self.label} has no MLflow run to compare"
        if run != self.run_id:
            return False, f"judged {ref}: run {run}, not the promoted model's run {self.run_id}"
        ours = parse_runs_uri(self.uri or "") or (
            parse_runs_uri(self.version.source) if self.version else None)
        if ours is not None and ours[1] and path and ours[1] != path:
            return False, (f"judged {ref}: another artifact ({path}) of the promoted model's "
                           f"run, which is {ours[1]}")
        return True, f"judged {ref}, the promoted model's run"


def digest_of(folder: Path) -> str:
    """The model digest `mlci lineage tag --model` records: every file but the signature."""
    return model_digest(folder)


def resolve(registry: Registry, name: str, model: str | None, version: int | None) -> Candidate:
    """What `--model`/`--version` name, without changing the registry.

    A number (the promote action passes either), `models:/<name>/<n>` and
    `models:/<name>@<alias>` of the same registered model name an existing
    version; any other URI is registered later, once the gates have passed,
    unless a version registered from that same URI already exists."""
    if (model is None) == (version is None):
        raise InputError("give exactly one of --model URI (runs:/…, models:/…, a model "
                         "folder) or --version N")
    if model is not None and model.strip().isdigit():
        version, model = int(model.strip()), None
    if model is not None:
        match = _MODELS_VERSION.match(model)
        if match is not None and match["name"] == name:
            version, model = int(match["version"]), None
    if model is not None:
        match = _MODELS_ALIAS.match(model)
        if match is not None and match["name"] == name:
            registry.require_model(name)
            held = registry.alias_version(name, match["alias"])
            if held is None:
                raise InputError(f"--model {model}: {name} has no alias {match['alias']!r}")
            version = held
            model = None
    if version is not None:
        if version < 1:
            raise InputError(f"--version {version}: versions are numbered from 1")
        registry.require_model(name)
        info = registry.version(name, version)
        if info is None:
            raise InputError(f"--version {version}: {name} has no version {version} in registry "
                             f"{registry.display} (never registered, or deleted)")
        return Candidate(registry, name, None, info, info.run_id)
    assert model is not None
    if not _SCHEME.match(model):
        return _folder(registry, name, model)
    runs = parse_runs_uri(model)
    run_id = runs[0] if runs else None
    existing = _registered_from(registry, name, model, run_id)
    return Candidate(registry, name, model, existing, run_id or (existing.run_id if existing
                                                                 else None))


def _folder(registry: Registry, name: str, folder: str) -> Candidate:
    """A private copy of the folder (what the gates judge and the registry receives, so a
    write to the folder meanwhile changes neither), and the version holding exactly its
    files, if one exists."""
    source = Path(folder)
    if not source.is_dir():
        raise InputError(f"--model {folder}: " + (
            "a file, not a model folder (expected an MLflow model folder with an MLmodel file)"
            if source.exists() else "no such model folder, and not a URI such as "
            "runs:/<run-id>/model or models:/<name>/<version>"))
    links = [p.relative_to(source) for p in sorted(source.rglob("*")) if p.is_symlink()]
    if links:
        raise InputError(f"--model {folder}: {links[0]} is a symbolic link; a registry "
                         "stores files, not links: put the file itself in its place")
    copy = Path(tempfile.mkdtemp(prefix="mlci-model-"))
    try:
        shutil.copytree(source, copy / "model")
    except OSError as exc:
        shutil.rmtree(copy, ignore_errors=True)
        raise InputError(f"--model {folder}: cannot read the folder ({exc})") from exc
    files = copy / "model"
    try:
        content = snapshot(files).id
        candidate = Candidate(registry, name, folder, None, None, _files=files,
                              _tmp=[str(copy)], files_digest=content)
        candidate._digest = digest_of(files)
        matches = registry.versions_by_files(name, content) if registry.model(name) else []
    except BaseException:
        shutil.rmtree(copy, ignore_errors=True)
        raise
    if matches:
        candidate.version = min(matches, key=lambda v: v.version)
        candidate.run_id = candidate.version.run_id
        candidate._files, candidate._digest = None, None  # judge the registered files
    return candidate


def _registered_from(registry: Registry, name: str, uri: str, run_id: str | None
                     ) -> VersionInfo | None:
    """The newest version registered from `uri` by mlci, so re-runs do not pile up versions."""
    if registry.model(name) is None:
        return None
    matches = [v for v in registry.versions_with(name, run_id)
               if v.tags.get(SOURCE_TAG) == uri]
    return max(matches, key=lambda v: v.version) if matches else None
