"""``import crossreg`` alone reaches every step's module, each imported on first use."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import crossreg

PACKAGE = Path(crossreg.__file__).parent


def run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_crossreg_is_light_and_reaches_a_step_by_attributes():
    run(
        "import sys\n"
        "import crossreg\n"
        "heavy = [m for m in ('numpy', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "# listed before their first use, so that tab completion offers them\n"
        "assert {'variants', 'train', 'dna', '__version__'} <= set(dir(crossreg))\n"
        "assert 'sad_h5' in dir(crossreg.variants) and 'sys' not in dir(crossreg.variants)\n"
        "# and no helper of the lazy loading: before, ModuleType and lazy_submodules\n"
        "public = [n for n in dir(crossreg) + dir(crossreg.variants) if not n.startswith('_')]\n"
        "assert not {'ModuleType', 'lazy_submodules'} & set(public), public\n"
        "assert {'DataStore', 'store', 'loader'} <= set(dir(crossreg.data))\n"
        "assert 'crossreg.variants.sad_h5' not in sys.modules\n"
        "assert callable(crossreg.variants.sad.write_sad)\n"
        "assert crossreg.data.DataStore is crossreg.data.store.DataStore\n"
        "assert crossreg.stats.sldp.run.write_sldp.__module__ == 'crossreg.stats.sldp.run'\n"
    )


def test_a_name_that_is_no_submodule_is_an_attribute_error():
    run(
        "import crossreg\n"
        "for where, name in ((crossreg, 'nope'), (crossreg.train, 'nope'),"
        " (crossreg.data, 'nope')):\n"
        "    try:\n"
        "        getattr(where, name)\n"
        "    except AttributeError as error:\n"
        "        assert str(error) == f\"module '{where.__name__}' has no attribute 'nope'\"\n"
        "    else:\n"
        "        raise AssertionError(where)\n"
        "assert not hasattr(crossreg.variants, 'nope')\n"
        "assert not hasattr(crossreg, '__main__')  # importing it would run the command line\n"
    )


def test_every_package_imports_each_of_its_submodules_on_first_use():
    # asked of each package's __getattr__ itself: in one process, importing one module
    # sets the attributes of the modules it imports, which would hide a package without it
    packages = sorted(p.parent for p in PACKAGE.rglob("__init__.py"))
    for folder in packages:
        package = importlib.import_module(
            ".".join(["crossreg", *folder.relative_to(PACKAGE).parts])
        )
        modules = pkgutil.iter_modules([str(folder)])
        submodules = [info.name for info in modules if info.name != "__main__"]
        for name in submodules:
            module = package.__dict__["__getattr__"](name)
            assert module.__name__ == f"{package.__name__}.{name}"
            assert name in dir(package)


def test_the_steps_on_score_files_load_no_torch():
    # sldp and denovo read SAD files and need no model: importing torch cost them ~5 s
    # and ~620 MB (sldp reached it through the SAD file reader's statistics module)
    run(
        "import sys\n"
        "import crossreg.stats.sldp.run, crossreg.stats.denovo_report\n"
        "import crossreg.variants.sad_join\n"
        "assert 'torch' not in sys.modules\n"
    )


def test_the_command_lines_parser_loads_no_numpy():
    # before: building it (crossreg --help, --version, any usage error) imported numpy and
    # scipy, most of its second: the synth package imported its world for the presets'
    # names, and evaluate's options its column statistics for one default
    run(
        "import sys\n"
        "from crossreg.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('numpy', 'scipy', 'polars', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import crossreg.synth\n"
        "assert 'synthesize' in dir(crossreg.synth) and 'numpy' not in sys.modules\n"
        "assert crossreg.synth.synthesize.__module__ == 'crossreg.synth.world'\n"
    )
