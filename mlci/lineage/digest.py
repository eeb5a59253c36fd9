"""The model digest: what `lineage tag` records, signatures sign, and promotion
gates compare. One definition, so "the same model" means the same thing everywhere."""

from __future__ import annotations

import os
from pathlib import Path

from mlci.lineage.hashing import snapshot

SIGNATURE_NAME = "mlci.sig"  # inside a model folder; `<file>.mlci.sig` beside a single file


def model_digest(path: str | os.PathLike[str]) -> str:
    """sha256 over the model's canonical file listing, the signature file left out."""
    exclude = [SIGNATURE_NAME] if Path(path).is_dir() else []
    return snapshot(path, exclude=exclude).id


def local_model_digest(uri: str | None) -> str | None:
    """The digest of a model named by a path on this machine (None for registry URIs,
    which promotion gates match by URI or run instead): what a result's subject records."""
    if uri and Path(uri).exists():
        return model_digest(uri)
    return None
