"""One scan: fetch the page, then run each analysis step (technologies, performance, security)."""
