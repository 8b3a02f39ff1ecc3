"""The service tells glibc to keep freed memory for reuse: each scan parses and frees pages of up to a few MB,
and handing that memory back to the kernel after every scan made the next one pay for it again in page faults."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from techscaniq.observability.process import retain_freed_memory

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc allocator setting")


def page_faults_detecting_a_large_page(tuned: bool) -> int:
    """Minor page faults of 10 detections of one 1.7 MB page, in a fresh process (the setting is global)."""
    script = textwrap.dedent(f"""
        import resource
        from techscaniq.observability.process import retain_freed_memory
        from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, builtin_database_path, load_database
        if {tuned}:
            assert retain_freed_memory()
        engine = FingerprintEngine(load_database(builtin_database_path()))
        card = '<div class="card"><a href="/item/{{i}}">Item</a><script>window.d{{i}} = "{{v}}";</script></div>'
        html = ("<html><head><style>" + ".x{{color:red}}" * 40000 + "</style></head><body>"
                + "".join(card.format(i=i, v="v" * 200) for i in range(4000)) + "</body></html>")
        page = PageData(url="https://big.test/", html=html)
        engine.analyze(page)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            engine.analyze(page)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(completed.stdout)


def test_it_applies_on_glibc() -> None:
    assert retain_freed_memory() is True


def test_scans_of_large_pages_reuse_memory_instead_of_faulting_it_in_again() -> None:
    default, tuned = page_faults_detecting_a_large_page(False), page_faults_detecting_a_large_page(True)
    assert tuned * 20 < default, (default, tuned)  # measured: ~19,000 with glibc's defaults, 0 retained
