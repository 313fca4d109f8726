"""The web edge: the JSON API, the HTML pages, the WebSocket consumers and the admin.

It reads requests and presents what the workflows return; it never runs a process,
calls Netdata, samples the host or opens a file. See docs/architecture.md.
"""
