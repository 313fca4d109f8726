"""Date formats for the page and the admin (settings.FORMAT_MODULE_PATH)."""
