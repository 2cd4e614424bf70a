"""Compat modules state the versions they were checked against and warn once when the installed one differs."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

from tfnas import _versions
from tfnas.errors import TfnasVersionWarning
from tfnas.testing.processes import child_env

COMPAT_MODULES = ("tfnas._compat", "tfnas._kt_compat", "tfnas._litert_compat", "tfnas._tfmot_compat")


@pytest.fixture
def fresh(monkeypatch):
    """Forgets which libraries were checked in this process, and restores that after the test."""
    monkeypatch.setattr(_versions, "_said", set())


@pytest.mark.parametrize("name", COMPAT_MODULES)
def test_every_compat_module_states_the_versions_it_was_checked_against(name):
    checked = importlib.import_module(name).CHECKED
    assert checked and all(isinstance(v, str) and v[0].isdigit() for v in checked.values())


def test_a_different_installed_version_is_said_once_naming_both(fresh, monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: "9.9.9")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            _versions.check({"keras-tuner": "1.4.8"}, "tfnas._kt_compat")
    assert len(caught) == 1 and caught[0].category is TfnasVersionWarning
    message = str(caught[0].message)
    assert "keras-tuner 1.4.8" in message and "9.9.9 is installed" in message and "tfnas._kt_compat" in message


def test_the_checked_version_says_nothing(fresh, monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: "1.4.8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _versions.check({"keras-tuner": "1.4.8"}, "tfnas._kt_compat")


def test_a_library_not_installed_says_nothing(fresh):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _versions.check({"no-such-distribution-tfnas": "1.0"}, "tfnas._compat")


def test_the_compat_modules_of_this_install_say_nothing(fresh):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TfnasVersionWarning)
        for name in COMPAT_MODULES:
            _versions.check(importlib.import_module(name).CHECKED, name)


def test_importing_tfnas_sets_no_environment_and_imports_no_tensorflow():
    script = (
        "import os, sys; before = dict(os.environ); import tfnas; import tfnas.errors; "
        "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items()); "
        "assert not {'tensorflow', 'keras_tuner', 'tensorflow_model_optimization'} & set(sys.modules)"
    )
    env = child_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    subprocess.run([sys.executable, "-c", script], check=True, env=env)


def test_tfnas_sets_the_tensorflow_log_level_only_when_it_imports_tensorflow_and_the_user_has_not():
    script = (
        "import os, tfnas; tfnas.Training; "  # a public name that imports TensorFlow through tfnas
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    )
    env = child_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    mine = subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True, text=True)
    theirs = subprocess.run([sys.executable, "-c", script], check=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"},
                            capture_output=True, text=True)
    assert (mine.stdout.split()[-1], theirs.stdout.split()[-1]) == ("2", "0")
