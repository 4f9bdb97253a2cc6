"""Idempotent registration into moto, without editing moto's files (spec: moto.md §1.3).

- personalize: moto's 4-operation backend is replaced by ours (moto.personalize.personalize_backends).
- personalize-runtime / personalize-events: new backend keys `personalizeruntime` and
  `personalizeevents`, found by moto.backends.get_backend through sys.modules shims, routed in
  decorator mode by patterns put first in moto.backend_index.backend_url_patterns (in place: the
  server and the proxy hold references to that list). In server mode all three sign as
  `personalize`, so the personalize routes include the runtime and events paths.
- every resource's state-manager model (personalize::<kind>) is registered with its default.
- boto3 calls to the three services are answered in process at before-call (protocol.inprocess):
  its handlers join botocore's BUILTIN_HANDLERS, beside moto's stubber, for every later session.
Must run before mock_aws() starts and before a server handles its first request."""
from __future__ import annotations

import re
import sys
import threading
import types

SUPPORTED_MOTO = ((5, 2), (5, 3))  # [min, max)
_lock = threading.Lock()
_installed = False

NEW_SERVICES = {
    "personalizeruntime": r"https?://personalize-runtime\.(.+)\.amazonaws\.com",
    "personalizeevents": r"https?://personalize-events\.(.+)\.amazonaws\.com",
}


def _check_moto_version() -> None:
    import moto

    version = tuple(int(p) for p in re.findall(r"\d+", moto.__version__)[:2])
    low, high = SUPPORTED_MOTO
    if not low <= version < high:
        raise RuntimeError(f"personalize-mock supports moto >=5.2,<5.3; found moto {moto.__version__}")


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _check_moto_version()
        import moto.backend_index
        import moto.backends
        import moto.personalize
        from botocore.handlers import BUILTIN_HANDLERS

        from .control.backend import personalize_backends
        from .control.lifecycle import register_default_transitions
        from .control.resources import ALL_KINDS
        from .events.backend import personalizeevents_backends
        from .protocol import inprocess
        from .runtime.backend import personalizeruntime_backends

        moto.personalize.personalize_backends = personalize_backends
        for key, backends in (("personalizeruntime", personalizeruntime_backends),
                              ("personalizeevents", personalizeevents_backends)):
            shim = types.ModuleType(f"moto.{key}")
            setattr(shim, f"{key}_backends", backends)
            sys.modules[f"moto.{key}"] = shim
        patterns = moto.backend_index.backend_url_patterns
        known = {key for key, _ in patterns}
        for key, pattern in NEW_SERVICES.items():
            if key not in known:  # first: moto tries every pattern in order on each request
                patterns.insert(0, (key, re.compile(pattern)))
        register_default_transitions(ALL_KINDS)
        BUILTIN_HANDLERS.extend(h for h in inprocess.handlers() if h not in BUILTIN_HANDLERS)

        # Fail loudly if a moto upgrade moved the hooks.
        assert moto.backends.get_backend("personalize") is personalize_backends
        assert moto.backends.get_backend("personalize-runtime") is personalizeruntime_backends
        assert moto.backends.get_backend("personalize-events") is personalizeevents_backends
        _installed = True
