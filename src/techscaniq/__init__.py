"""TechScanIQ continuous monitoring: technology, performance and security of websites, watched over time."""

__version__ = "0.1.0"
