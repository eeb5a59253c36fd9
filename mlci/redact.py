"""Credentials out of everything mlci prints or writes.

Secrets reach messages by ways no call site controls: MLflow repeats a
tracking URI, password included, in its error text; requests names the URL it
could not parse; git names a remote; a user passes a signing key's base64 body
where a path was expected, and the "no such file" message would repeat it. So
steps do not clean their own messages: the few places where text leaves mlci
(`MlciError`, the runner's error lines, result documents, annotations, step
summaries, outputs and the posted comment) pass it through `text()`.

Two kinds of masking, both to `***`:

* patterns, whatever the value: the userinfo of a URL (`scheme://user:pw@` and
  the scheme-less `user:pw@host` requests prints), secret-looking query
  parameters (`?token=`, `X-Amz-Signature=`), `Authorization:` /
  `PRIVATE-TOKEN:` header values, and private-key PEM blocks;
* known values, wherever they appear: the values of environment variables
  named like secrets (`*_TOKEN`, `*_PASSWORD`, `*_SECRET`, `*_ACCESS_KEY`, …),
  passwords found in URLs in the environment or on the command line, a signing
  key given as text (PEM or bare base64) in `--signing-key`/`--key` or
  `MLCI_SIGNING_KEY`, and anything passed to `register()`.

Known values shorter than `MIN_SECRET` characters are left to the patterns:
masking every "mlflow" in a log because a password is "mlflow" would make the
log useless, and such a password only shows up inside a URL."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

if TYPE_CHECKING:
    from mlci.result import Result

MASK = "***"
MIN_SECRET = 6

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|PASSWORD|PASSWD|PASS|SECRET|SECRET_KEY|SECRET_ACCESS_KEY|ACCESS_KEY|"
    r"API_KEY|PRIVATE_KEY|SIGNING_KEY|CONNECTION_STRING|CREDENTIALS?)$", re.IGNORECASE)
_KEY_NAMES = ("MLCI_SIGNING_KEY",)
_KEY_FLAGS = ("--signing-key", "--key")
_STOP = r"\s/?#'\"<>`"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # private keys, also when a secret store flattened the newlines to "\n"
    (re.compile(r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?:\\n|[\sA-Za-z0-9+/=])*"
                r"(-----END [A-Z0-9 ]*PRIVATE KEY-----)?"), rf"\1{MASK}\2"),
    # scheme://userinfo@host: everything up to the last @ before the host
    (re.compile(rf"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^{_STOP}]*@"), rf"\1{MASK}@"),
    # user:password@host without a scheme (requests' "Invalid URL 'u:p@host'")
    (re.compile(rf"(?<![\w/:.@-])[\w.~%+-]+:[^{_STOP}@]+@(?=[\w\[])"), f"{MASK}@"),
    (re.compile(r"(?i)([?&;](?:[\w.-]*(?:token|password|passwd|secret|signature|credential|"
                r"api[_-]?key|access[_-]?key)[\w.-]*|sig)=)[^&\s#'\"<>`]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)\b(authorization|proxy-authorization|private-token|job-token|x-api-key)"
                r"([\"']?\s*[:=]\s*[\"']?)((?:bearer|basic|token)\s+)?"
                r"(?!\*\*\*|(?:bearer|basic|token)\s)[^\s\"',;}]+"), rf"\1\2\3{MASK}"),
)
_USERINFO = re.compile(rf"[A-Za-z][A-Za-z0-9+.-]*://([^{_STOP}]*)@"
                       rf"|(?<![\w/:.@-])([\w.~%+-]+:[^{_STOP}@]+)@")
_registered: set[str] = set()
_masked: set[str] = set()


class Masker(Protocol):
    def mask(self, secret: str) -> None: ...


def register(secret: str | None) -> None:
    """Mask this value from now on (e.g. a token read from a file)."""
    if secret:
        _registered.update(_parts(secret))


def text(value: str, known: Sequence[str] | None = None) -> str:
    """`value` with every credential replaced by `***`."""
    if not value:
        return value
    for secret in known if known is not None else known_secrets():
        if secret in value:
            value = value.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        value = pattern.sub(replacement, value)
    return _tidy(value)


def data(value: Any, known: Sequence[str] | None = None) -> Any:
    """A copy of a JSON-like value with every string passed through `text()`."""
    secrets = known_secrets() if known is None else known
    if isinstance(value, str):
        return text(value, secrets)
    if isinstance(value, Mapping):
        return {key: data(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(data(item, secrets) for item in value)
    return value


def result(document: Result) -> Result:
    """The result, its every text field masked in place (and returned): what a step
    writes, prints, summarises and annotates all comes from it."""
    secrets = known_secrets()
    document.summary = text(document.summary, secrets)
    document.subject = data(document.subject, secrets)
    document.lineage = data(document.lineage, secrets)
    document.extra = data(document.extra, secrets)
    for check in document.checks:
        check.name = text(check.name, secrets)
        check.message = text(check.message, secrets)
        check.slice = data(check.slice, secrets)
        check.extra = data(check.extra, secrets)
        for field in ("metric", "column"):
            value = getattr(check, field)
            if isinstance(value, str):
                setattr(check, field, text(value, secrets))
    return document


def mask_known(platform: Masker) -> None:
    """Have the CI platform hide, in its own log, the secrets mlci found on the command
    line and in URLs (a library may print them where `text()` never sees them).
    Secrets named in the environment are the platform's own, already masked there."""
    for secret in sorted(_discovered(os.environ, sys.argv[1:]) - _masked):
        _masked.add(secret)
        platform.mask(secret)


def known_secrets(environ: Mapping[str, str] | None = None,
                  argv: Sequence[str] | None = None) -> list[str]:
    """Every value to mask, longest first (so a secret inside another goes with it)."""
    env = os.environ if environ is None else environ
    found = set(_registered) | _discovered(env, sys.argv[1:] if argv is None else argv)
    for name, value in env.items():
        if _SECRET_NAME.search(name) and name not in _KEY_NAMES:
            found.update(_parts(value))
    return sorted(found, key=lambda s: (-len(s), s))


def is_key_text(value: str) -> bool:
    """A private key pasted as text: PEM, or its base64 body without the header (which
    mlci would otherwise take for a path and repeat in "no such file")."""
    stripped = value.strip()
    if "-----BEGIN" in stripped or "PRIVATE KEY" in stripped:
        return True
    compact = re.sub(r"\\n|\s", "", stripped)
    if len(compact) < 40 or not re.fullmatch(r"[A-Za-z0-9+/]+=*", compact):
        return False
    try:
        return not Path(stripped).exists()
    except (OSError, ValueError):
        return True


def _discovered(environ: Mapping[str, str], argv: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for value in [*environ.values(), *argv]:
        found.update(_url_passwords(value))
    for name in _KEY_NAMES:
        if is_key_text(environ.get(name, "")):
            found.update(_parts(environ[name]))
    for value in _flag_values(argv, _KEY_FLAGS):
        if is_key_text(value):
            found.update(_parts(value))
    return found


def _flag_values(argv: Sequence[str], flags: Iterable[str]) -> list[str]:
    values = []
    for index, arg in enumerate(argv):
        for flag in flags:
            if arg == flag and index + 1 < len(argv):
                values.append(argv[index + 1])
            elif arg.startswith(flag + "="):
                values.append(arg[len(flag) + 1:])
    return values


def _url_passwords(value: str) -> set[str]:
    """Passwords (and user:password pairs) in URLs inside `value`."""
    found: set[str] = set()
    if "@" not in value:
        return found
    for match in _USERINFO.finditer(value):
        userinfo = match.group(1) or match.group(2)
        _, sep, password = userinfo.partition(":")
        if not sep:
            continue
        for candidate in (password, unquote(password), userinfo, unquote(userinfo)):
            if len(candidate) >= MIN_SECRET:
                found.add(candidate)
    return found


def _parts(secret: str) -> set[str]:
    """The secret, and each line and flattened form of it (a PEM is printed line by line)."""
    stripped = secret.strip()
    parts = {stripped} if len(stripped) >= MIN_SECRET else set()
    pieces = re.split(r"\\n|\s+", stripped)
    if len(pieces) > 1:
        parts.update(p for p in pieces if len(p) >= 16 and not p.startswith("-----"))
        compact = "".join(p for p in pieces if not p.startswith("-----"))
        if len(compact) >= 16:
            parts.add(compact)
    return parts


def _tidy(value: str) -> str:
    """`*** ***` runs from overlapping masks read as one."""
    return re.sub(r"\*\*\*(?:[ :]?\*\*\*)+", MASK, value)

