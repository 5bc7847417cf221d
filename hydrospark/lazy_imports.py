"""Fast start: numpy, pandas, matplotlib and fpdf are loaded on first use, not when Django starts.

Every process (`manage.py help`, a batch command, a gunicorn worker, the task worker) used to pay about
1.5 s importing them, because models, admin modules and receivers import the services that compute with
them. `install()` (run by the `hydrospark` package, so before the settings and every app) puts each library
in `sys.modules` as a deferred module: `import pandas as pd` anywhere binds it at once, and the library's
own code runs the first time one of its attributes is read (`pd.DataFrame(...)`), under a lock: other
threads wait for it and it never runs twice. Modules that annotate with these libraries
(`def f(frame: pd.DataFrame)`) use `from __future__ import annotations`, so defining a function reads nothing.

The standard library's `importlib.util.LazyLoader` is not enough here: an `import numpy` statement reads
the module's `__spec__`, which makes LazyLoader load it, so the first module that merely imports the library
would pay for it. `bench/bench_start.py` measures the start; `hydrospark/tests/test_fast_start.py` fails when
a start-up module reads one of them again.
"""

import importlib.util
import sys
import threading
import types

LAZY = ("numpy", "pandas", "matplotlib", "fpdf")
# What the import system and Django's autoreloader read from every module in sys.modules: answered
# without loading (a module's name and where it comes from are known before its code runs).
_METADATA = frozenset({"__spec__", "__name__"})
_LOCKS: dict[str, threading.RLock] = {}  # one per library: the thread that runs it holds it meanwhile
_RUNNING: set[str] = set()


class DeferredModule(types.ModuleType):
    def __getattribute__(self, attr):
        if attr in _METADATA:
            return types.ModuleType.__getattribute__(self, attr)
        name = types.ModuleType.__getattribute__(self, "__name__")
        with _LOCKS[name]:  # other threads wait here until the library has run
            if type(self) is DeferredModule:
                if name in _RUNNING:  # the library reading its own names while it runs (this thread only)
                    return types.ModuleType.__getattribute__(self, attr)
                _load(self, name)
        return getattr(self, attr)


def _load(module: types.ModuleType, name: str) -> None:
    _RUNNING.add(name)
    try:
        types.ModuleType.__getattribute__(module, "__spec__").loader.exec_module(module)
    except BaseException:
        # As after a failed import: the next import runs the library again, and so does the next read of a
        # name already bound to it (the same error again, never an AttributeError from half a module).
        sys.modules.pop(name, None)
        raise
    finally:
        _RUNNING.discard(name)
    if type(module) is DeferredModule:  # unless the library set a class of its own
        object.__setattr__(module, "__class__", types.ModuleType)


def install(names: tuple[str, ...] = LAZY) -> None:
    for name in names:
        if name not in sys.modules:  # already loaded (e.g. by a test tool): nothing to defer
            _defer(name)


def _defer(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None:  # not installed: the first import raises the usual ImportError
        return
    module = importlib.util.module_from_spec(spec)
    _LOCKS.setdefault(name, threading.RLock())
    module.__class__ = DeferredModule
    sys.modules[name] = module


def is_loaded(name: str) -> bool:
    """True once the library's code has run (a deferred module still waiting is not loaded)."""
    module = sys.modules.get(name)
    return module is not None and type(module) is not DeferredModule
