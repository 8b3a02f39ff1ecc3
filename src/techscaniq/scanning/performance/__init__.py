"""Performance analysis of a scan: fetch timings and sizes, page weight, optional headless-browser vitals."""

from techscaniq.scanning.performance.analyzer import PerformanceAnalyzer

__all__ = ["PerformanceAnalyzer"]
