"""English formats: a time always says its zone.

Times are shown in WPDASH_TIME_ZONE, which need not be the zone of the person
reading them, so every datetime the page and the admin show ends with the zone's
abbreviation ("2026-11-22 03:05:41 CET"; a zone without one shows its offset, "-03").
Numeric dates, so they sort and read the same everywhere.
"""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
