"""``make wheel-check``'s check of what a wheel carries (tests/wheel_check.py): the
package's data, ``py.typed``, the stub and the licence, and nothing else."""

from __future__ import annotations

from tests.wheel_check import REQUIRED, wheel_problems

NATIVE = "crossreg/_native.abi3.so"
LICENSE = "crossreg-0.1.0.dist-info/licenses/LICENSE"
GOOD = [
    "crossreg/__init__.py",
    "crossreg/synth/motifs.py",
    NATIVE,
    *REQUIRED,
    "crossreg-0.1.0.dist-info/METADATA",
    "crossreg-0.1.0.dist-info/RECORD",
    LICENSE,
]


def test_a_wheel_with_the_package_and_its_data_passes():
    assert wheel_problems(GOOD) == []


def test_each_missing_file_is_named():
    for name in [*REQUIRED, LICENSE]:
        problems = wheel_problems([n for n in GOOD if n != name])
        assert len(problems) == 1, problems
        assert problems[0].startswith("lacks") and name.rsplit("/", 1)[-1] in problems[0]


def test_tests_caches_and_a_second_extension_are_refused():
    for extra in ("tests/test_dna.py", "crossreg/__pycache__/dna.cpython-311.pyc", "README.md"):
        (problem,) = wheel_problems([*GOOD, extra])
        assert problem == f"carries files outside the package: {extra}"
    (problem,) = wheel_problems([*GOOD, "crossreg/_native.cpython-311-x86_64-linux-gnu.so"])
    assert problem.startswith("carries 2 native extensions, not one")
    (problem,) = wheel_problems([n for n in GOOD if n != NATIVE])
    assert problem.startswith("carries 0 native extensions")
