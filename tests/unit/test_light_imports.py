"""A worker installs light: the SDK and the admin client import without the kernel,
NumPy or asyncpg; the server refuses to start without the kernel, saying why."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent("""
    import sys
    BLOCKED = {blocked!r}
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED or name in BLOCKED:
                raise ImportError(f"{{name}} is blocked for the test")
    sys.meta_path.insert(0, Block())
""")


def _python(blocked: set[str], code: str) -> subprocess.CompletedProcess[str]:
    script = BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_worker_sdk_and_admin_client_import_without_kernel_numpy_or_asyncpg() -> None:
    result = _python({"relentless._kernel", "numpy", "asyncpg"}, """
        import relentless.worker, relentless.client, relentless.protocol
        from relentless.worker import Job, Worker
        worker = Worker("http://127.0.0.1:9", token="t")
        print("imported", sorted(m for m in sys.modules if m in ("numpy", "asyncpg")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported []"


def test_serve_without_the_kernel_fails_with_its_message_and_no_traceback() -> None:
    result = _python({"relentless._kernel"}, """
        from relentless.cli import main
        sys.exit(main(["serve", "--dsn", "postgresql://127.0.0.1:1/nothing"]))
    """)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "relentless serve: the compiled transition kernel" in result.stderr
    assert "pip install -e ." in result.stderr
