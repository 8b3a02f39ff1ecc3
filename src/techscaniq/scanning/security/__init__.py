"""Security analysis of a scan: header grading in the manner of the HTTP Observatory, TLS, exposure and
known-vulnerable client libraries."""

from techscaniq.scanning.security.advisories import AdvisoryDatabase, AdvisoryStore, load_database, update_advisories
from techscaniq.scanning.security.analyzer import SecurityAnalyzer

__all__ = ["AdvisoryDatabase", "AdvisoryStore", "SecurityAnalyzer", "load_database", "update_advisories"]
