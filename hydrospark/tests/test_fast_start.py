"""Fast start (issue 18, item 3): Django starts without running numpy, pandas, matplotlib or fpdf.

Each start-up test runs a fresh interpreter with `-X importtime`, which prints every module whose code ran;
a deferred library (hydrospark/lazy_imports.py) prints nothing until it is used."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hydrospark import lazy_imports

BASE_DIR = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "pandas", "matplotlib", "fpdf", "PIL", "fontTools")


def _run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hydrospark.settings",
        "DEBUG": "0",  # production settings: nothing loaded only in development hides a slow start
        "SECRET_KEY": "start-up-test-key-" + "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'start.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def _heavy_modules_run(stderr: str) -> set[str]:
    names = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
    return {name for name in names if name.split(".")[0] in HEAVY}


def test_django_setup_runs_no_numerical_or_drawing_library(tmp_path):
    done = _run(tmp_path, "-c", "import django; django.setup()")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _heavy_modules_run(done.stderr) == set()


def test_manage_py_check_loads_every_url_and_admin_without_them(tmp_path):
    # check imports the URLconf, hence every view, form, admin module and what they import.
    done = _run(tmp_path, "manage.py", "check")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "System check identified no issues" in done.stdout
    assert _heavy_modules_run(done.stderr) == set()


def test_a_deferred_library_loads_on_first_use(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from hydrospark.lazy_imports import is_loaded\n"
        "from metering.parsing import usage_units\n"
        "import numpy as np\n"
        "assert not is_loaded('numpy')\n"
        "units, *_ = usage_units(np.array(['1.5', '0.56000000000000005']))\n"
        "assert is_loaded('numpy') and units.tolist() == [15000, 5600], units\n"
    )
    done = _run(tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "numpy._core.multiarray" in _heavy_modules_run(done.stderr)  # its code ran, on first use


@pytest.fixture
def fake_library(tmp_path, monkeypatch):
    """A library whose code counts its runs (in a file: a failed run leaves no module behind)."""
    counter = tmp_path / "runs"
    counter.write_text("0")
    (tmp_path / "hs_fake_library.py").write_text(
        "import pathlib, time\n"
        f"_counter = pathlib.Path({str(counter)!r})\n"
        "_counter.write_text(str(int(_counter.read_text()) + 1))\n"
        "time.sleep(0.05)  # long enough for other threads to arrive while it runs\n"
        "ANSWER = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hs_fake_library", raising=False)
    yield lambda: int(counter.read_text())
    sys.modules.pop("hs_fake_library", None)


def test_importing_a_deferred_library_runs_nothing_until_an_attribute_is_read(fake_library):
    lazy_imports.install(("hs_fake_library",))
    import hs_fake_library

    assert fake_library() == 0 and not lazy_imports.is_loaded("hs_fake_library")
    assert hs_fake_library.__name__ == "hs_fake_library" and fake_library() == 0
    assert hs_fake_library.ANSWER == 42
    assert fake_library() == 1 and lazy_imports.is_loaded("hs_fake_library")


def test_threads_reading_a_deferred_library_together_run_it_once(fake_library):
    lazy_imports.install(("hs_fake_library",))
    import hs_fake_library

    answers = []
    threads = [threading.Thread(target=lambda: answers.append(hs_fake_library.ANSWER)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [42] * 8
    assert fake_library() == 1


def test_a_library_that_fails_to_load_raises_on_every_use(fake_library, tmp_path):
    (tmp_path / "hs_fake_library.py").write_text("raise ImportError('broken build')\n")
    lazy_imports.install(("hs_fake_library",))
    import hs_fake_library

    for _attempt in range(2):  # the same error each time, never an AttributeError from half a module
        with pytest.raises(ImportError, match="broken build"):
            hs_fake_library.ANSWER  # noqa: B018
    with pytest.raises(ImportError, match="broken build"):
        import hs_fake_library  # noqa: F401, F811  (a fresh import tries again, as after any failed import)


def test_a_library_that_is_not_installed_is_left_to_the_usual_import_error():
    lazy_imports.install(("hs_no_such_library",))
    assert "hs_no_such_library" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        import hs_no_such_library  # noqa: F401
