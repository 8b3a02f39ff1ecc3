"""Every connection the server opens for a tenant — scans, browser mode, notifications — goes through
here: an address policy (address_guard), the httpx/httpcore backend that resolves, vets and pins
addresses itself (backend), a plain vetted socket (sockets), and a guard for blocking libraries in
worker threads (thread_guard)."""
