# Before settings and every app: the numerical and drawing libraries load on first use (lazy_imports.py).
from hydrospark.lazy_imports import install as _install_lazy_imports

_install_lazy_imports()
