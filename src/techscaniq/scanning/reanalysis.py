"""Re-detects a stored scan's technologies with the current fingerprint database.

The change detector uses it when the database was updated between two scans, so a new fingerprint
shows up as "we can now see X" rather than as "the site added X"."""

from __future__ import annotations

from techscaniq.domain.config import ScanConfig
from techscaniq.domain.fetch import FetchResult
from techscaniq.domain.scan import ScanResult
from techscaniq.domain.technology import Detection
from techscaniq.scanning.analysis import Analyzer, ScanContext
from techscaniq.storage.protocols import ScanRepository


class TechnologyReanalyzer:
    def __init__(self, scans: ScanRepository, analyzer: Analyzer) -> None:
        self._scans = scans
        self._analyzer = analyzer

    async def __call__(self, scan: ScanResult) -> list[Detection] | None:
        body = await self._scans.body(scan.id)
        if body is None or scan.response is None:
            return None
        headers = scan.response.headers
        content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
        fetch = FetchResult(
            url=scan.url, final_url=scan.response.final_url, status_code=scan.response.status_code,
            headers=headers, body=body, content_type=content_type,
        )
        result = scan.model_copy(update={"technologies": []})
        # No fetcher: robots.txt and other extra requests are not repeated for old scans.
        ctx = ScanContext(url=scan.url, scan_config=ScanConfig(), fetch=fetch, result=result, fetcher=None,
                          organization_id=scan.organization_id)
        await self._analyzer.analyze(ctx)
        return result.technologies
