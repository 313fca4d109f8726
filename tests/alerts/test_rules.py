"""Each rule against the real thing it reads: the stand-in systemctl, real certificates,
a real apt on a state of its own, a reboot-required file, disk series shaped as Netdata's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server_monitor.adapters import apt
from server_monitor.workflows.alerts import disk_trend
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.certificates import CertificateExpiry
from server_monitor.workflows.alerts.rules.packages import RebootRequired, SecurityUpdates
from server_monitor.workflows.alerts.rules.units import UnitFailed
from tests.support.apt import apt_root
from tests.support.certificates import install_live


def subjects(findings):
    return sorted(finding.subject for finding in findings)


# --- units ----------------------------------------------------------------------------


def test_a_failed_unit_is_found_and_is_gone_once_it_is_active_again(fake_systemd):
    rule = UnitFailed()
    assert rule.evaluate(Facts(), set()) == []

    fake_systemd.set("php8.2-fpm.service", ActiveState="failed", SubState="failed", MainPID="0")
    [finding] = rule.evaluate(Facts(), set())
    assert (finding.subject, finding.severity) == ("php8.2-fpm", "critical")
    assert finding.summary == "php8.2-fpm has failed (failed (failed))"

    fake_systemd.set("php8.2-fpm.service", ActiveState="active", SubState="running", MainPID="4242")
    assert rule.evaluate(Facts(), {"php8.2-fpm"}) == []


def test_a_unit_seen_active_then_stopped_is_found_but_one_never_seen_active_is_not(fake_systemd):
    fake_systemd.set("netdata.service", ActiveState="inactive", SubState="dead", MainPID="0")
    rule = UnitFailed()
    assert rule.evaluate(Facts(), set()) == []  # netdata kept off before the watcher started: normal

    fake_systemd.set("nginx.service", ActiveState="inactive", SubState="dead", MainPID="0")  # was active
    assert subjects(rule.evaluate(Facts(), set())) == ["nginx"]
    assert subjects(UnitFailed().evaluate(Facts(), set())) == []  # a watcher that never saw it active


def test_a_firing_unit_on_its_way_back_up_stays_firing_until_it_is_active(fake_systemd):
    fake_systemd.set("nginx.service", ActiveState="activating", SubState="start", MainPID="0")
    assert subjects(UnitFailed().evaluate(Facts(), {"nginx"})) == ["nginx"]
    assert subjects(UnitFailed().evaluate(Facts(), set())) == []


def test_without_systemd_the_rule_cannot_tell_and_says_so_with_none(fake_systemd):
    fake_systemd.go_offline()
    assert UnitFailed().evaluate(Facts(), {"nginx"}) is None  # firing episodes stay as they are


# --- certificates -----------------------------------------------------------------------


@pytest.fixture
def live(settings, tmp_path):
    folder = tmp_path / "letsencrypt" / "live"
    folder.mkdir(parents=True)
    (folder / "README").write_text("certbot's note: not a certificate\n")
    settings.WPDASH_CERT_DIR = str(folder)
    settings.WPDASH_ALERT_CERT_DAYS = 14
    return folder


def test_certificates_expiring_expired_and_unreadable_are_found_and_a_fresh_one_is_not(live):
    soon = install_live(live, "soon.example", timedelta(days=3))
    gone = install_live(live, "gone.example", timedelta(days=-2))
    install_live(live, "fresh.example", timedelta(days=80))
    (live / "broken.example").mkdir()
    (live / "broken.example" / "fullchain.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")

    found = {finding.subject: finding for finding in CertificateExpiry().evaluate(Facts(), set())}

    assert sorted(found) == sorted([str(soon), str(gone), str(live / "broken.example" / "fullchain.pem")])
    assert found[str(soon)].severity == "warning"
    assert found[str(soon)].summary.startswith("certificate for soon.example, www.soon.example expires in 3.0 days")
    assert found[str(gone)].severity == "critical" and "has expired" in found[str(gone)].summary
    assert "does not hold a PEM certificate" in found[str(live / "broken.example" / "fullchain.pem")].summary


def test_a_certificate_renewed_in_place_is_no_longer_found(live):
    path = install_live(live, "renewed.example", timedelta(days=3))
    assert subjects(CertificateExpiry().evaluate(Facts(), set())) == [str(path)]

    install_live(live, "renewed.example", timedelta(days=90))

    assert CertificateExpiry().evaluate(Facts(), set()) == []


def test_no_certificate_folder_is_nothing_to_watch(settings, tmp_path):
    settings.WPDASH_CERT_DIR = str(tmp_path / "absent")
    assert CertificateExpiry().evaluate(Facts(), set()) == []


# --- packages -------------------------------------------------------------------------


def test_security_updates_are_counted_from_apts_own_state_and_others_are_not(settings, tmp_path):
    settings.WPDASH_APT_CONFIG = str(
        apt_root(
            tmp_path,
            installed={"libssl3": "3.0.11-1", "nginx-common": "1.22.1-9", "curl": "7.88.1-10"},
            security={"libssl3": "3.0.11-1+deb12u2", "nginx-common": "1.22.1-9+deb12u1"},
            regular={"curl": "7.88.1-10+deb12u5"},
        )
    )

    everything = apt.pending_updates()
    [finding] = SecurityUpdates().evaluate(Facts(), set())

    assert sorted(update.package for update in everything) == ["curl", "libssl3", "nginx-common"]
    assert finding.summary == "2 security updates pending"
    assert finding.evidence["count"] == 2
    assert finding.evidence["packages"][0].startswith("libssl3 3.0.11-1 → 3.0.11-1+deb12u2 (Debian-Security:12/")


def test_no_pending_security_update_is_nothing(settings, tmp_path):
    settings.WPDASH_APT_CONFIG = str(
        apt_root(tmp_path, installed={"curl": "7.88.1-10"}, security={}, regular={"curl": "7.88.1-11"})
    )
    assert SecurityUpdates().evaluate(Facts(), set()) == []


def test_apt_that_cannot_run_makes_the_rule_say_it_cannot_tell(settings, tmp_path):
    settings.WPDASH_APT_GET = str(tmp_path / "no-apt-get")
    assert SecurityUpdates().evaluate(Facts(), set()) is None


def test_reboot_required_names_the_packages_that_asked_for_it(settings, tmp_path):
    flag = tmp_path / "reboot-required"
    settings.WPDASH_REBOOT_REQUIRED_FILE = str(flag)
    assert RebootRequired().evaluate(Facts(), set()) == []

    flag.write_text("*** System restart required ***\n")
    (tmp_path / "reboot-required.pkgs").write_text("linux-image-6.1.0-18-amd64\nlibc6\nlibc6\n")
    [finding] = RebootRequired().evaluate(Facts(), set())

    assert finding.summary == "a reboot is required for linux-image-6.1.0-18-amd64, libc6"


# --- the disk's trend ------------------------------------------------------------------

STEP = 600  # the 24h window's points: 10 minutes


def series(values):
    return [(1_800_000_000 + index * STEP, value) for index, value in enumerate(values)]


def test_a_steady_rise_gives_the_days_left_at_that_rate():
    # 6 h of 10-minute points rising 0.5 % an hour: 12 %/day, 40 % free → 3.3 days.
    values = [60.0 + 0.5 * index * STEP / 3600 for index in range(37)]
    forecast = disk_trend.estimate(series(values), hours=6)
    assert forecast is not None and forecast.days_left is not None
    assert forecast.percent_per_day == pytest.approx(12.0)
    assert forecast.days_left == pytest.approx((100 - values[-1]) / 12.0)


def test_a_one_off_burst_that_stays_is_no_trend():
    values = [50.0] * 18 + [62.0] * 19  # a 12 % copy in the middle of the 6 h, then flat
    forecast = disk_trend.estimate(series(values), hours=6)
    assert forecast is not None and forecast.known and forecast.days_left is None


def test_a_burst_that_went_away_again_is_no_trend():
    values = [50.0] * 15 + [58.0, 66.0, 70.0, 70.0, 60.0] + [50.0] * 17  # a backup, deleted
    forecast = disk_trend.estimate(series(values), hours=6)
    assert forecast is not None and forecast.days_left is None


def test_a_noisy_but_steady_rise_still_counts():
    noise = [0.3, -0.2, 0.1, -0.3, 0.2, 0.0, -0.1]
    values = [40.0 + index * 0.2 + noise[index % len(noise)] for index in range(37)]
    forecast = disk_trend.estimate(series(values), hours=6)
    assert forecast is not None and forecast.days_left is not None


def test_too_little_history_is_not_a_forecast():
    values = [None] * 30 + [60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0]  # an hour of a fresh sampler
    forecast = disk_trend.estimate(series(values), hours=6)
    assert forecast is not None and not forecast.known


# --- CPU and RAM, sustained; disk full and filling, through Netdata's answers ----------


@pytest.fixture
def netdata_host(settings):
    """Point the metrics at a Netdata stand-in answering with the values a test chooses."""
    from server_monitor.workflows import metrics
    from tests.support.fake_netdata import http_server
    from tests.support.netdata_charts import host

    started = []

    def start(**values):
        server = http_server(host(**values))
        settings.NETDATA_URL = server.__enter__()
        settings.WPDASH_METRICS_SOURCE = "netdata"
        started.append(server)
        metrics.reset()

    yield start
    for server in started:
        server.__exit__(None, None, None)
    metrics.reset()


@pytest.fixture
def thresholds(settings):
    settings.WPDASH_ALERT_CPU_PERCENT = 90
    settings.WPDASH_ALERT_RAM_PERCENT = 90
    settings.WPDASH_ALERT_SUSTAINED_MINUTES = 10
    settings.WPDASH_ALERT_DISK_PERCENT = 90


def test_cpu_above_the_threshold_for_the_whole_duration_is_found(netdata_host, thresholds):
    from server_monitor.workflows.alerts.rules.host import CpuHigh, RamHigh

    netdata_host(cpu=lambda t: 97.0, ram=lambda t: 40.0)

    [finding] = CpuHigh().evaluate(Facts(), set())
    assert finding.subject == "CPU" and finding.summary == "CPU at 97 % on average for 10 minutes (alert at 90 %)"
    assert RamHigh().evaluate(Facts(), set()) == []


def test_a_short_cpu_burst_is_not_sustained(netdata_host, thresholds):
    from server_monitor.workflows.alerts.rules.host import CpuHigh

    netdata_host(cpu=lambda t: 99.0 if t % 3600 >= 3600 - 180 or (t // 60) % 10 == 0 else 30.0, ram=lambda t: 40.0)

    assert CpuHigh().evaluate(Facts(), set()) == []


def test_ram_that_fired_stays_firing_while_its_mean_is_above_and_not_after(netdata_host, thresholds):
    from server_monitor.workflows.alerts.rules.host import RamHigh

    netdata_host(cpu=lambda t: 10.0, ram=lambda t: 85.0 if (t // 60) % 4 == 0 else 96.0)  # dips below now and then
    assert RamHigh().evaluate(Facts(), set()) == []  # not above all along: not sustained
    assert subjects(RamHigh().evaluate(Facts(), {"RAM"})) == ["RAM"]  # firing: the mean (93 %) keeps it

    netdata_host(cpu=lambda t: 10.0, ram=lambda t: 60.0)
    assert RamHigh().evaluate(Facts(), {"RAM"}) == []


def test_a_full_disk_is_found_with_its_figures(netdata_host, thresholds):
    from server_monitor.workflows.alerts.rules.host import DiskFull

    netdata_host(cpu=lambda t: 10.0, ram=lambda t: 40.0, disk=lambda t: 93.5)

    [finding] = DiskFull().evaluate(Facts(), set())
    assert finding.summary == "disk / is 93.5 % full (alert at 90 %)"


def test_a_disk_filling_steadily_is_found_with_its_days_left(netdata_host, thresholds, settings):
    import time

    from server_monitor.caching import clear_all
    from server_monitor.workflows.alerts.rules.host import DiskFilling

    settings.WPDASH_ALERT_DISK_DAYS = 10
    settings.WPDASH_DISK_TREND_HOURS = 6
    origin = time.time() - 24 * 3600
    netdata_host(cpu=lambda t: 10.0, ram=lambda t: 40.0, disk=lambda t: 50.0 + (t - origin) / 3600 * 0.25)
    clear_all()  # the forecast is kept a minute

    [finding] = DiskFilling().evaluate(Facts(), set())

    assert finding.evidence["percent_per_day"] == pytest.approx(6.0, rel=0.02)  # 0.25 %/h
    assert finding.evidence["days_left"] == pytest.approx((100 - 56.0) / 6.0, rel=0.05)
    assert finding.summary.startswith("disk / will be full in about 7.")


def test_a_disk_that_is_not_filling_is_not_found(netdata_host, thresholds, settings):
    from server_monitor.caching import clear_all
    from server_monitor.workflows.alerts.rules.host import DiskFilling

    settings.WPDASH_ALERT_DISK_DAYS = 7
    netdata_host(cpu=lambda t: 10.0, ram=lambda t: 40.0, disk=lambda t: 88.0)
    clear_all()

    assert DiskFilling().evaluate(Facts(), set()) == []


def test_a_python_without_the_ssl_decoder_reads_certificates_with_cryptography(live, monkeypatch):
    import ssl

    monkeypatch.delattr(ssl._ssl, "_test_decode_cert")
    soon = install_live(live, "soon.example", timedelta(days=3))
    (live / "broken.example").mkdir()
    (live / "broken.example" / "fullchain.pem").write_text("garbage\n")

    found = {finding.subject: finding.summary for finding in CertificateExpiry().evaluate(Facts(), set())}

    assert found[str(soon)].startswith("certificate for soon.example, www.soon.example expires in 3.0 days")
    assert found[str(live / "broken.example" / "fullchain.pem")].endswith("does not hold a PEM certificate")
