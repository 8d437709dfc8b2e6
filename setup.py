"""Builds the Cython extensions (the transition kernel and the simulation loop).

Everything else is in pyproject.toml.

Set RELENTLESS_DEBUG_KERNEL=1 to build it unoptimised with symbols, for gdb and valgrind.
"""

from __future__ import annotations

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("RELENTLESS_DEBUG_KERNEL") == "1"


def extension(name: str, source: str) -> Extension:
    """One extension over engine_ext/, which holds the shared kernel_types.pxd."""
    return Extension(
        name,
        sources=[source],
        include_dirs=[numpy.get_include(), "engine_ext"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )


setup(
    ext_modules=cythonize(
        [extension("relentless._kernel", "engine_ext/kernel.pyx"),
         extension("relentless._simulate", "engine_ext/simulate.pyx")],
        compiler_directives={"language_level": 3},
    ),
)
