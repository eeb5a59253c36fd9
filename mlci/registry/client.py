"""The MLflow model registry as mlci uses it: a few operations, each retried and each
failing with a message that names the registry and what was being done.

Which registry is `naming`'s to say. One URI serves as both tracking
and registry URI: registering `runs:/…` needs the run's tracking server, and a
registry apart from it would be a second thing to configure for no gain.

A model folder is registered by copying its files into the registry's own
artifact store (an MLflow logged model), never by pointing a version at the
folder: a version registered from a path would serve whatever bytes the path
holds later."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mlci.errors import InputError, ServiceError
from mlci.registry import retry
from mlci.registry.naming import display_uri, sqlite_file

T = TypeVar("T")

# Beside a SQLite registry file: the files of the models it registers. A dot folder, so
# `mlci report`, which reads the JSON files of the out folder, never wanders into it.
ARTIFACTS_DIR = ".registry-artifacts"
UPLOAD_EXPERIMENT = "mlci"  # where folders are copied to, as logged models
SOURCE_TAG = "mlci.source"  # the URI a version was registered from (idempotent re-runs)
DIGEST_TAG = "mlci.model_digest"  # the model digest (lineage's), written once per version
FILES_TAG = "mlci.files_digest"  # digest of every file, mlci.sig included: what a folder is
_REGISTRATION_TAG = "mlci.registration"  # a nonce: was a timed-out create applied after all?


@dataclass(frozen=True)
class ModelState:
    """One read of a registered model: its aliases and tags from the same response,
    which is what lets the protocol compare an alias with its history."""

    name: str
    aliases: dict[str, int]
    tags: dict[str, str]


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    source: str
    run_id: str | None
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    model_id: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class Registry:
    """Retried registry operations; `None` means "not there", errors are mlci errors."""

    def __init__(self, uri: str, policy: retry.RetryPolicy | None = None) -> None:
        import mlflow.tracking  # noqa: F401  (its import sets MLflow's log levels: first)

        from mlci.registry import quiet_mlflow

        quiet_mlflow()
        self.uri = uri
        self.display = display_uri(uri)
        self.policy = policy or retry.policy_from_env()
        self._client: Any = self._call("opening the registry", self._open)
        self._experiment: str | None = None

    def _open(self) -> Any:
        """The MLflow client, with its stores created. Creating a SQLite store creates or
        migrates its tables, which two processes must not do at once (alembic fails the
        slower one): a file lock beside the database serializes just that."""
        from mlflow.tracking import MlflowClient

        database = sqlite_file(self.uri)
        if database is None:
            return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        database.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(database.parent):
            client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            client._get_registry_client()  # type: ignore[no-untyped-call]  # its tables, now
        return client

    # -- plumbing ---------------------------------------------------------------

    def _call(self, operation: str, fn: Callable[[], T],
              policy: retry.RetryPolicy | None = None) -> T:
        try:
            return retry.call(fn, policy or self.policy)
        except retry.RetriesExhausted as exc:
            raise ServiceError(
                f"registry {self.display}: {operation} failed after {exc.attempts} attempts "
                f"over {exc.waited:.1f}s: {_first_line(exc.last)}") from exc
        except InputError:
            raise
        except Exception as exc:
            code = getattr(exc, "error_code", None)
            if code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST",
                        "RESOURCE_ALREADY_EXISTS"):
                raise InputError(f"registry {self.display}: {operation}: "
                                 f"{_first_line(exc)}") from exc
            raise ServiceError(f"registry {self.display}: {operation} failed: "
                               f"{_first_line(exc)}") from exc

    def _missing_is_none(self, operation: str, fn: Callable[[], T],
                         policy: retry.RetryPolicy | None = None) -> T | None:
        def guarded() -> T | None:
            try:
                return fn()
            except Exception as exc:
                if getattr(exc, "error_code", None) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
                    return None
                raise

        return self._call(operation, guarded, policy)

    # -- reads ------------------------------------------------------------------

    def model(self, name: str, policy: retry.RetryPolicy | None = None) -> ModelState | None:
        found = self._missing_is_none(f"reading registered model {name!r}",
                                      lambda: self._client.get_registered_model(name), policy)
        if found is None:
            return None
        aliases = {str(k): int(v) for k, v in (found.aliases or {}).items()}
        return ModelState(name=name, aliases=aliases, tags=dict(found.tags or {}))

    def require_model(self, name: str) -> ModelState:
        state = self.model(name)
        if state is None:
            raise InputError(f"--name {name}: no registered model of that name in registry "
                             f"{self.display}")
        return state

    def version(self, name: str, version: int) -> VersionInfo | None:
        found = self._missing_is_none(
            f"reading version {version} of {name!r}",
            lambda: self._client.get_model_version(name, str(version)))
        return None if found is None else _version_info(found)

    def alias_version(self, name: str, alias: str) -> int | None:
        state = self.model(name)
        return None if state is None else state.aliases.get(alias)

    def versions_with(self, name: str, run_id: str | None) -> list[VersionInfo]:
        """Versions of `name` (of one run, when given): for reusing an earlier registration."""
        query = f"name = '{_quote(name)}'"
        if run_id:
            query += f" and run_id = '{_quote(run_id)}'"
        found = self._call(f"searching versions of {name!r}",
                           lambda: list(self._client.search_model_versions(query)))
        return [_version_info(v) for v in found]

    def run_tags(self, run_id: str) -> dict[str, str] | None:
        found = self._missing_is_none(f"reading run {run_id}",
                                      lambda: self._client.get_run(run_id))
        return None if found is None else dict(found.data.tags or {})

    # -- writes -----------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int,
                  policy: retry.RetryPolicy | None = None) -> None:
        self._call(f"setting alias {alias!r} of {name!r} to version {version}",
                   lambda: self._client.set_registered_model_alias(name, alias, str(version)),
                   policy)

    def delete_alias(self, name: str, alias: str,
                     policy: retry.RetryPolicy | None = None) -> None:
        self._call(f"deleting alias {alias!r} of {name!r}",
                   lambda: self._client.delete_registered_model_alias(name, alias), policy)

    def set_model_tag(self, name: str, key: str, value: str,
                      policy: retry.RetryPolicy | None = None) -> None:
        self._call(f"setting tag {key!r} on {name!r}",
                   lambda: self._client.set_registered_model_tag(name, key, value), policy)

    def delete_model_tag(self, name: str, key: str,
                         policy: retry.RetryPolicy | None = None) -> None:
        self._call(f"deleting tag {key!r} of {name!r}",
                   lambda: self._client.delete_registered_model_tag(name, key), policy)

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._call(f"setting tag {key!r} on version {version} of {name!r}",
                       lambda k=key, v=value: self._client.set_model_version_tag(  # type: ignore[misc]
                           name, str(version), k, v))

    def versions_by_files(self, name: str, files_digest: str) -> list[VersionInfo]:
        """Ready versions of `name` registered from a folder with exactly these files."""
        query = (f"name = '{_quote(name)}' and tags.`{FILES_TAG}` = '{_quote(files_digest)}'")
        found = self._call(f"searching versions of {name!r} by digest",
                           lambda: list(self._client.search_model_versions(query)))
        versions = [_version_info(v) for v in found]
        return [v for v in versions if v.tags.get(FILES_TAG) == files_digest
                and v.status in ("READY", "")]

    def register(self, name: str, model_uri: str, tags: Mapping[str, str]) -> VersionInfo:
        """A new version of `name` from `model_uri` (creating `name` when new).

        A create that timed out may still have happened; the nonce tag finds
        it on retry, so a flaky network never leaves two versions behind."""
        if "://" not in model_uri and ":/" not in model_uri and Path(model_uri).exists():
            raise InputError(f"{model_uri}: a folder is registered with register_folder "
                             "(copied into the registry), never by its path")
        nonce = uuid.uuid4().hex
        all_tags = {**tags, _REGISTRATION_TAG: nonce}

        def attempt() -> Any:
            earlier = [v for v in self._raw_versions(name)
                       if dict(v.tags or {}).get(_REGISTRATION_TAG) == nonce]
            if earlier:
                return earlier[0]
            with self._global_uris():
                import mlflow

                return mlflow.register_model(model_uri, name, await_registration_for=120,
                                             tags=all_tags)

        created = self._call(f"registering {model_uri} as a version of {name!r}", attempt)
        return _version_info(created)

    def register_folder(self, name: str, folder: Path, label: str,
                        tags: Mapping[str, str]) -> VersionInfo:
        """A new version of `name` holding a copy of `folder`'s files, byte for byte
        (mlci.sig included), as an MLflow logged model in the registry's artifact store.

        `label` is what the user called the folder (recorded, never used to find it)."""
        experiment = self._upload_experiment()

        def upload() -> str:
            model = self._client.create_logged_model(
                experiment, name=name, tags={"mlci.uploaded_from": label[:5000]})
            self._client.log_model_artifacts(model.model_id, str(folder))
            self._client.finalize_logged_model(model.model_id, "READY")
            return str(model.model_id)

        model_id = self._call(f"copying {label} into the registry's artifact store", upload)
        return self.register(name, f"models:/{model_id}", tags)

    def _upload_experiment(self) -> str:
        """The experiment `mlci` (created on first use). On SQLite its files live beside
        the database, not in `./mlruns` of whatever folder the first run started in."""
        if self._experiment is not None:
            return self._experiment

        def find_or_create() -> str:
            found = self._client.get_experiment_by_name(UPLOAD_EXPERIMENT)
            if found is None:
                database = sqlite_file(self.uri)
                location = ((database.parent.resolve() / ARTIFACTS_DIR).as_uri()
                            if database is not None else None)
                try:
                    return str(self._client.create_experiment(UPLOAD_EXPERIMENT,
                                                              artifact_location=location))
                except Exception as exc:
                    if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                        raise
                found = self._client.get_experiment_by_name(UPLOAD_EXPERIMENT)
            if found.lifecycle_stage != "active":
                raise InputError(f"registry {self.display}: experiment {UPLOAD_EXPERIMENT!r}, "
                                 "where mlci copies model folders, is deleted; restore it "
                                 f"(`mlflow experiments restore --experiment-id "
                                 f"{found.experiment_id}`) or register the model yourself")
            return str(found.experiment_id)

        self._experiment = self._call(f"finding experiment {UPLOAD_EXPERIMENT!r}",
                                      find_or_create)
        return self._experiment

    def _raw_versions(self, name: str) -> list[Any]:
        try:
            return list(self._client.search_model_versions(f"name = '{_quote(name)}'"))
        except Exception as exc:
            if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
                return []
            raise

    # -- model files ------------------------------------------------------------

    def download(self, uri: str, destination: str) -> Path:
        """The files of a model URI (`runs:/…`, `models:/…`, a local folder)."""
        if Path(uri).exists():
            return Path(uri)
        import mlflow.artifacts

        def fetch() -> str:
            # `models:/` URIs are resolved through the global registry URI, whatever
            # `registry_uri=` says (MLflow 3.x), so set it for this call.
            with self._global_uris():
                return str(mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=destination, tracking_uri=self.uri))

        path = Path(self._call(f"downloading the files of {uri}", fetch))
        meta = path / "registered_model_meta"
        if meta.is_file():
            # MLflow writes this receipt into a download that went through `models:/` (also
            # a `runs:/` URI of an MLflow 3 logged model); it is not part of the model.
            meta.unlink()
        return path

    def download_version(self, name: str, version: int, destination: str) -> Path:
        """A version's files exactly as registered: through its storage location, since a
        `models:/` download adds a `registered_model_meta` file that would change the digest."""
        location = self._call(
            f"locating the files of version {version} of {name!r}",
            lambda: str(self._client.get_model_version_download_uri(name, str(version))))
        return self.download(location, destination)

    @contextlib.contextmanager
    def _global_uris(self) -> Iterator[None]:
        """`mlflow.register_model` reads the global URIs; set them for one call only.

        `mlflow.set_tracking_uri` also exports `MLFLOW_TRACKING_URI` (for subprocesses),
        so setting the old value back would leave MLflow's default in the environment,
        where the next registry lookup in this process would take it for the user's
        choice: the globals and both variables are put back exactly as they were."""
        import mlflow
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
        environment = {name: os.environ.get(name) for name in names}
        saved = (getattr(tracking_utils, "_tracking_uri", None),
                 getattr(registry_utils, "_registry_uri", None))
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        try:
            yield
        finally:
            tracking_utils._tracking_uri = saved[0]
            registry_utils._registry_uri = saved[1]
            for name, value in environment.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@contextlib.contextmanager
def _file_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` itself (flock on its descriptor), so no lock file
    is left behind; where flock does not exist (Windows) no lock is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _version_info(found: Any) -> VersionInfo:
    return VersionInfo(name=str(found.name), version=int(found.version),
                       source=str(found.source or ""), run_id=found.run_id or None,
                       status=str(found.status or ""), tags=dict(found.tags or {}),
                       model_id=getattr(found, "model_id", None) or None)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:500]
