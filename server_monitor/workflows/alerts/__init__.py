"""Alerts: what `manage.py watch` notices on the box, and who is told (docs/architecture.md, "Alerts").

rules/        one small class per rule: what is wrong now (a Finding per subject)
facts.py      what the rules of one tick share (the units' states, the metrics)
episodes.py   a finding's life in the database: firing → resolved, one row per episode
live_logs.py  the one door to the log layer: the log-pattern rules follow the live tail's readers
messages.py   the words of a message: summary, evidence, a link to the page
outbox.py     the sender: every queued message to mail and push, retried with backoff
silences.py   an admin's silences (audited)
autorestart.py the watchdog: an audited restart of a failed unit, at most 3 in 15 minutes
disk_trend.py when "/" will be full at the last hours' rate
lease.py      which watcher acts (a database lease)
watcher.py    the asyncio process that runs it all
"""
