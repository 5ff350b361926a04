"""Parse results (and instantiated Terraform) cached by content hash in the user's cache directory.

An entry is only ever a hint: one that cannot be read, was written by another version, or holds anything
but the expected classes is ignored and the file parsed again. Entries are unpickled with a loader that
accepts prodready's own parse and model classes and nothing else, so a tampered entry cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from typing import Any

from prodready import __version__

_ALLOWED_MODULES = {"prodready.sources.hcl"}
# What instantiated Terraform is made of (see prodready.instantiate).
_ALLOWED_MODEL = {"_Unknown", "DEFAULTED", "Resource", "Positions", "TerraformInstance", "Location"}
_ALLOWED_MODEL |= {"Problem", "Notification"}
_ALLOWED_BUILTINS = {"tuple", "list", "dict", "set", "frozenset", "int", "float", "str", "bool"}


def cache_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "prodready")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (
            module in _ALLOWED_MODULES
            or (module == "prodready.model" and name in _ALLOWED_MODEL)
            or (module == "builtins" and name in _ALLOWED_BUILTINS)
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")


class ParseCache:
    def __init__(self, namespace: str, directory: str | None = None) -> None:
        import hcl2.version
        from prodready.sources.hcl import FORMAT

        tag = f"{namespace}{FORMAT}-{__version__}-hcl2-{hcl2.version.version}"
        self.directory = os.path.join(directory or cache_directory(), tag)

    def _path(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        return os.path.join(self.directory, digest[:2], digest[2:])

    def get(self, data: bytes, expected: type) -> Any | None:
        try:
            with open(self._path(data), "rb") as handle:
                value = _RestrictedUnpickler(io.BytesIO(handle.read())).load()
        except Exception:  # missing, unreadable, truncated, tampered: parse again
            return None
        return value if isinstance(value, expected) else None

    def put(self, data: bytes, value: Any) -> None:
        path = self._path(data)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path))
            try:
                with os.fdopen(handle, "wb") as stream:
                    pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, path)
            except Exception:  # a value too deep to pickle is simply not cached
                os.unlink(temporary)
        except OSError:
            pass  # a read-only or full cache directory only costs speed
