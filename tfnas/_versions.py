"""Says once, as a warning, when an installed library is not the version a compat module was checked against.

Each compat module (`_compat`, `_kt_compat`, `_litert_compat`,
`_tfmot_compat`) touches another library's privates and states, in its
`CHECKED` constant, the versions it was read against. `check` compares them
with the installed distributions and warns once per process and library
(a `tfnas.errors.TfnasVersionWarning`, which users can filter) when they
differ: the privates may have moved, and the compat module is the one file
to read again.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from tfnas.errors import TfnasVersionWarning

_said: set[str] = set()  # distributions already checked in this process


def check(checked: Mapping[str, str], module: str) -> None:
    """Warns once per process for each distribution of `checked` whose installed version differs.

    Args:
        checked: distribution name (as pip knows it) -> the version `module` was checked against.
        module: the compat module's name, named in the warning.
    """
    from importlib import metadata  # here: importing `tfnas` stays light

    for name, version in checked.items():
        if name in _said:
            continue
        _said.add(name)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # not installed: the code that needs it raises its own error
        if installed != version:
            warnings.warn(
                f"{module} was checked against {name} {version}; {installed} is installed. "
                f"tfnas reads private parts of {name} there, which may have changed: if something fails "
                f"inside {module}, install {name}=={version}.",
                TfnasVersionWarning,
                stacklevel=3,
            )
