"""Pure data and pure logic shared by every pipeline stage. No I/O lives here."""
