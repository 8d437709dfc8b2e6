"""Builds the Cython transition kernel; everything else is in pyproject.toml.

Set RELENTLESS_DEBUG_KERNEL=1 to build it unoptimised with symbols, for gdb and valgrind.
"""

from __future__ import annotations

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("RELENTLESS_DEBUG_KERNEL") == "1"

kernel = Extension(
    "relentless._kernel",
    sources=["engine_ext/kernel.pyx"],
    include_dirs=[numpy.get_include(), "engine_ext"],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
)

setup(
    ext_modules=cythonize(
        [kernel],
        compiler_directives={"language_level": 3},
    ),
)
