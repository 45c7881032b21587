"""Keep pandas out of a process that does not need it (used by ``python -m dashboard import``).

pyarrow imports pandas the first time it builds an array from Python objects, if
pandas can be imported.  Refusing the import makes pyarrow work without pandas
integration, exactly as when pandas is not installed.  Only for short-lived command
processes that never convert to pandas.
"""

from __future__ import annotations

import importlib.abc
import sys


class _RefusePandas(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not used by this command", name=fullname)
        return None


def keep_pandas_out() -> None:
    if not any(isinstance(f, _RefusePandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _RefusePandas())
