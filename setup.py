"""Build of the one native module: the DL/T 645 read-reply fast path (metadata lives in pyproject.toml).

``optional=True``: where no C compiler is at hand the install goes on and the pure-Python decoder (same
results, slower) is used; the test suite checks that the module was built on our machines.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gridcare.protocols.dlt645._accel",
            sources=["src/gridcare/protocols/dlt645/_accel.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
