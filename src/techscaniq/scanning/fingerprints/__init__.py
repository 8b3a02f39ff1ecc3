"""Technology detection with Wappalyzer-format fingerprints.

    db = load_database([builtin_database_path(), custom_dir])
    engine = FingerprintEngine(db)
    detections = engine.analyze(PageData(url=..., headers=[...], html=...))
"""

from techscaniq.scanning.fingerprints.builtin import builtin_database_path
from techscaniq.scanning.fingerprints.database import FingerprintDatabase, Technology, load_database
from techscaniq.scanning.fingerprints.engine import FingerprintEngine
from techscaniq.scanning.fingerprints.page import DomElement, PageData

__all__ = [
    "DomElement",
    "FingerprintDatabase",
    "FingerprintEngine",
    "PageData",
    "Technology",
    "builtin_database_path",
    "load_database",
]
