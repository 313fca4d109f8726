"""The restart audit log. The workflow that writes it is server_monitor/workflows/restart.py (docs/architecture.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RestartAction(models.Model):
    """One restart request, written before anything runs, never deleted or edited by hand.

    `lock` holds the unit's Id while the request is pending or running and is NULL
    afterwards. Its UNIQUE index is what makes two simultaneous requests for one unit
    give one restart and one 409, on SQLite and MariaDB alike (MariaDB has no partial
    unique indexes; NULLs never collide). The Id rather than the requested name, so
    `mysql` and `mariadb` — one unit — cannot restart at once either.

    The runner fields name the process that runs (or is about to run) the restart, and
    the child fields the restart command it started (`sudo` or `systemctl`, in a
    session of its own, so it runs on if the runner dies). A row still pending or
    running is over only when both are gone; then workflows.runners.recover_interrupted
    records what the unit did, or marks the row interrupted when it cannot tell.

    `recorded` is not a column: it is False on an instance whose outcome the database
    has not taken yet (workflows.audit keeps retrying in the background), so the
    answer can say the restart ran and its outcome is not in the audit yet.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        TIMED_OUT = "timed_out", "timed out"
        REJECTED = "rejected", "rejected"
        INTERRUPTED = "interrupted", "interrupted"
        EXPIRED = "expired", "expired"  # pending past WPDASH_RESTART_APPROVAL_MINUTES: never runs
        WITHDRAWN = "withdrawn", "withdrawn"  # by its requester, while pending

    OPEN = (Status.PENDING, Status.RUNNING)
    recorded: bool = True  # see the class docstring
    OUTPUT_LIMIT = 8000  # characters of systemctl's output kept in a row

    service = models.CharField(max_length=256, help_text="The allowlisted name requested.")
    unit = models.CharField(max_length=256, help_text="systemd's Id for it, e.g. mariadb.service for mysql.")
    command = models.CharField(max_length=1024, help_text="The argv that runs (or ran) the restart.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    lock = models.CharField(max_length=256, null=True, blank=True, unique=True, editable=False)

    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=1000, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True, help_text="When its requester withdrew it.")

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True)
    journal = models.TextField(
        blank=True, help_text="The unit's journal since the restart began, kept when it failed or timed out."
    )
    note = models.CharField(max_length=1000, blank=True, help_text="Why the outcome is what it is.")
    state_before = models.CharField(max_length=64, blank=True)
    main_pid_before = models.PositiveIntegerField(null=True, blank=True)
    state_after = models.CharField(max_length=64, blank=True)
    main_pid_after = models.PositiveIntegerField(null=True, blank=True)
    active_enter_before = models.PositiveBigIntegerField(
        null=True, blank=True, editable=False, help_text="ActiveEnterTimestampMonotonic before, for oneshot units."
    )

    runner_host = models.CharField(max_length=255, blank=True, editable=False)
    runner_pid = models.PositiveIntegerField(null=True, blank=True, editable=False)
    runner_started = models.FloatField(null=True, blank=True, editable=False, help_text="The runner's start time.")
    child_pid = models.PositiveIntegerField(null=True, blank=True, editable=False)
    child_started = models.FloatField(
        null=True, blank=True, editable=False, help_text="The restart command's start time, on the runner's host."
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        # No add/change/delete permissions at all: the audit is written by code only.
        default_permissions = ("view",)
        permissions = [
            ("restart_service", "Can restart an allowlisted service"),
            ("approve_restart", "Can approve or reject a restart request"),
        ]
        indexes = [models.Index(fields=["service", "status"])]

    def __str__(self) -> str:
        return f"restart {self.service} #{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Heartbeat(models.Model):
    """One row that /healthz writes (server_monitor.web.health): a database that answers
    reads but refuses writes (disk full, locked past its timeout, read-only) cannot sign
    anyone in, which writes the session row and last_login, so it is not healthy."""

    ONLY = 1  # the primary key of the one row

    written_at = models.DateTimeField()

    class Meta:
        default_permissions = ()  # nobody edits it; code writes it

    def __str__(self) -> str:
        return f"heartbeat at {self.written_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls) -> None:
        """Write the row, committed (autocommit): a write the database must really keep."""
        now = timezone.now()
        if not cls.objects.filter(pk=cls.ONLY).update(written_at=now):
            cls.objects.get_or_create(pk=cls.ONLY, defaults={"written_at": now})  # the first beat


class SiteBucket(models.Model):
    """One site's counts over one minute (span 60) or ten minutes (span 600).

    Written only by the counter (server_monitor.workflows.sites.counting), read by every
    web process. Minutes are kept for the 5m and 1h windows, ten minutes for 24h, so a
    window reads at most about 150 rows per site. Each kind of figure merges exactly
    across rows: counts add, `times` is a sparse {milliseconds: requests} histogram
    (nginx writes milliseconds), and the top lists are each row's largest counts with
    the largest count left out (`cut`), which bounds how far a merged count can be short.
    """

    site = models.CharField(max_length=255)
    span = models.PositiveIntegerField()  # seconds
    start = models.BigIntegerField()  # Unix seconds, a multiple of span
    requests = models.BigIntegerField(default=0)
    status_1xx = models.BigIntegerField(default=0)
    status_2xx = models.BigIntegerField(default=0)
    status_3xx = models.BigIntegerField(default=0)
    status_4xx = models.BigIntegerField(default=0)
    status_5xx = models.BigIntegerField(default=0)
    status_other = models.BigIntegerField(default=0)
    bytes_sent = models.BigIntegerField(default=0)
    cache_hits = models.BigIntegerField(default=0)
    cache_lines = models.BigIntegerField(default=0)  # lines that carry a cache status (HIT, MISS, …)
    timed = models.BigIntegerField(default=0)  # requests with an upstream response time
    times = models.TextField(default="[]")  # JSON [[milliseconds, requests], …], sorted
    unparsed = models.BigIntegerField(default=0)
    top_paths = models.TextField(default="{}")  # JSON {"items": [[path, requests], …], "cut": n}
    top_error_paths = models.TextField(default="{}")  # the same, of 5xx answers
    top_clients = models.TextField(default="{}")

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["site", "span", "start"], name="site_bucket_unique")]

    def __str__(self) -> str:
        return f"{self.site} {self.span}s at {self.start}"


class SiteState(models.Model):
    """What the counter knows about one site beyond its counts: how far its figures are
    complete, how the last rebuild went, and why its log cannot be read if it cannot."""

    class Stop(models.TextChoices):
        WINDOW = "window", "read back to the start of the 24 h window"
        BUDGET = "budget", "stopped at the byte budget (WPDASH_SITES_REBUILD_BYTES)"
        LOGS = "logs", "read every log there is"
        TRUNCATED = "truncated", "the log was truncated while it was read"

    site = models.CharField(max_length=255, unique=True)
    log_path = models.TextField(default="")
    counted_until = models.FloatField(null=True)  # Unix seconds of the last write: complete up to here
    history_since = models.BigIntegerField(null=True)  # Unix seconds from which the counts are complete
    rebuilt_at = models.FloatField(null=True)
    rebuilt_from = models.BigIntegerField(null=True)  # the rebuild replaced every bucket from here on
    rebuild_bytes = models.BigIntegerField(default=0)
    rebuild_lines = models.BigIntegerField(default=0)
    rebuild_seconds = models.FloatField(default=0.0)
    rebuild_stop = models.CharField(max_length=16, choices=Stop.choices, blank=True)
    reason = models.TextField(blank=True)  # why the counter cannot read the log now
    unparsed_samples = models.TextField(default="[]")  # JSON: the last few lines not understood

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"state of {self.site}"


# --- alerts (server_monitor/workflows/alerts/, docs/architecture.md) ---------------------


class Alert(models.Model):
    """One episode of one rule about one subject: firing, then resolved. Never edited by hand.

    `firing_key` holds a digest of (rule, subject) while the episode fires and is NULL
    once it resolved; its UNIQUE index is what makes a condition seen twice (two ticks,
    two watchers during a hand-over, a log line read again) one episode, as
    RestartAction.lock does for restarts. `clear_since` is when the condition was first
    seen gone: the episode resolves once it has stayed gone WPDASH_ALERT_CLEAR_SECONDS,
    so a flapping unit is one episode, not a message a minute.
    """

    class State(models.TextChoices):
        FIRING = "firing", "firing"
        RESOLVED = "resolved", "resolved"

    class Severity(models.TextChoices):
        WARNING = "warning", "warning"
        CRITICAL = "critical", "critical"

    EVIDENCE_LINES = 30  # matched log lines kept per episode (the newest)

    rule = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=512, help_text="What it is about: a unit, a path, a log, “/”.")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.FIRING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    summary = models.CharField(max_length=1000)
    evidence = models.JSONField(default=dict, blank=True)
    firing_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now, help_text="When the condition was last seen.")
    clear_since = models.DateTimeField(null=True, blank=True, editable=False)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When its firing message was last queued; empty while silenced."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        default_permissions = ("view",)  # written by the watcher only

    def __str__(self) -> str:
        return f"{self.rule} {self.subject} #{self.pk} ({self.state})"


class AlertSilence(models.Model):
    """An admin's “not now” for a rule, a subject, or one rule on one subject, until a time.

    A silenced alert is still recorded and shown; only its messages are held back. Never
    deleted: ending one early records who ended it and when (the audit of silences).
    """

    rule = models.CharField(max_length=64, blank=True, help_text="Empty: every rule.")
    subject = models.CharField(max_length=512, blank=True, help_text="Empty: every subject.")
    until = models.DateTimeField()
    reason = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [("silence_alerts", "Can silence alerts")]

    def __str__(self) -> str:
        return f"silence {self.rule or 'any rule'} on {self.subject or 'any subject'} until {self.until:%Y-%m-%d %H:%M}"

    def covers(self, rule: str, subject: str) -> bool:
        return (not self.rule or self.rule == rule) and (not self.subject or self.subject == subject)


class AlertMessage(models.Model):
    """The outbox: one message about one alert to one channel, kept until it is accepted.

    Written in the same transaction as the alert's change, so no message is lost when the
    watcher dies; sent by the watcher's sender thread, retried with backoff. `target` is
    what the page may show (addresses, a push URL with its secrets masked), never a secret.
    """

    class Event(models.TextChoices):
        FIRED = "fired", "fired"
        REMINDER = "reminder", "still firing"
        RESOLVED = "resolved", "resolved"

    class Channel(models.TextChoices):
        EMAIL = "email", "mail"
        PUSH = "push", "push"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="messages")
    event = models.CharField(max_length=16, choices=Event.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    target = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_by = models.CharField(max_length=300, blank=True, editable=False, help_text="The sending watcher.")
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=1000, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.target} ({self.event} #{self.alert_id})"


class WatcherLease(models.Model):
    """The one row that says which `manage.py watch` acts: its holder (host, PID, process
    start time) until `expires_at`. Renewed every interval by a conditional UPDATE; a
    standby takes it over only once it expired. `log_marks` are the holder's last lines
    seen per followed log, so whoever takes over reads on from there (workflows.alerts.lease)."""

    ONLY = 1

    holder = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    log_marks = models.JSONField(default=dict, blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"watcher lease held by {self.holder or 'nobody'} until {self.expires_at:%H:%M:%S}"
