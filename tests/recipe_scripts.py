"""Import a recipe script (``recipes/dtssvd/local/NAME.py``) as a module, by its path."""
import importlib.util
from pathlib import Path

LOCAL = Path(__file__).resolve().parents[1] / "recipes" / "dtssvd" / "local"


def load(name: str):
    """The module ``recipes/dtssvd/local/<name>.py`` (not on sys.path: recipe scripts are run by path)."""
    spec = importlib.util.spec_from_file_location(f"recipe_local_{name}", LOCAL / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
