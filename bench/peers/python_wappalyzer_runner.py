"""Benchmark runner for python-Wappalyzer 0.3.1, run by bench/bench_fingerprints.py with the peer venv's Python.

python-Wappalyzer reads the old Wappalyzer schema, where `scripts` meant script URLs: so each
technology's inline `scripts` patterns are dropped and `scriptSrc` is renamed to `scripts`.
Usage: python python_wappalyzer_runner.py COMMUNITY_DB_DIR PAGES_JSON  ->  one JSON object on stdout.
"""

import glob
import json
import os
import resource
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")


def convert(db_dir):
    technologies = {}
    for path in sorted(glob.glob(os.path.join(db_dir, "technologies", "*.json"))):
        with open(path, encoding="utf-8") as handle:
            technologies.update(json.load(handle))
    for spec in technologies.values():
        spec.pop("scripts", None)
        if "scriptSrc" in spec:
            spec["scripts"] = spec.pop("scriptSrc")
    with open(os.path.join(db_dir, "categories.json"), encoding="utf-8") as handle:
        categories = json.load(handle)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"technologies": technologies, "categories": categories}, handle)
    return handle.name


def main():
    db_dir, pages_path = sys.argv[1], sys.argv[2]
    from Wappalyzer import Wappalyzer, WebPage

    converted = convert(db_dir)
    start = time.perf_counter()
    wappalyzer = Wappalyzer.latest(technologies_file=converted)
    compile_ms = (time.perf_counter() - start) * 1000
    os.unlink(converted)
    with open(pages_path, encoding="utf-8") as handle:
        pages = json.load(handle)
    results = []
    for page in pages:
        headers = {name: ", ".join(values) for name, values in page["headers"].items()}
        wall, cpu = time.perf_counter(), time.process_time()
        found = wappalyzer.analyze_with_versions(WebPage(page.get("url") or "", page["body"], headers))
        results.append({"id": page["id"], "ms": [(time.process_time() - cpu) * 1000],
                        "wall_ms": [(time.perf_counter() - wall) * 1000], "techs": sorted(found)})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status", encoding="ascii") as status:  # ru_maxrss carries the parent's peak
        rss = next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), rss)
    json.dump({"compile_ms": compile_ms, "peak_rss_kb": rss, "apps": len(wappalyzer.technologies), "pages": results},
              sys.stdout)


if __name__ == "__main__":
    main()
