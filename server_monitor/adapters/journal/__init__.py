"""The systemd journal through journalctl: the only code that runs it (docs/architecture.md).

- entries.py: an entry and its one-line format, the journalctl command every read
  starts from, the cursor rule, and the errors that say what to do;
- reads.py: one-shot reads (a unit's last entries or a search, the journal's newest
  cursor, a unit's lines since a moment);
- stream.py: JournalStream, one `journalctl --follow` child read without blocking;
- follow.py: JournalFollower, a unit's journal behind the followers' protocol
  (adapters.lines.Follower), restarting the stream where it ended.

Every child goes through adapters.process. Callers import the module they need:
`from server_monitor.adapters.journal import reads`.
"""
