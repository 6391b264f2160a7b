#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Encryption slots and audit findings as Prometheus metrics.

A custom collector: the cloud is read on every collection (once for a
textfile; when served, at most once per interval through ``Throttled``),
through ``operators.capacity`` and, when asked for, ``operators.audit``;
prometheus_client writes the exposition. The audit lists every server and
is off unless asked for.
"""

import collections
import logging
import os
import tempfile
import threading
import time

import prometheus_client
from prometheus_client import core as prometheus_core

from sev_scheduler.operators import audit
from sev_scheduler.operators import capacity
from sev_scheduler.operators import cloud as sev_cloud

LOG = logging.getLogger(__name__)

PREFIX = 'sev_scheduler_'


class CloudCollector:
    """Slots per host and model, and audit findings by kind, read anew.

    ``connect`` makes the Cloud: it is called at a collection until it
    returns one, so that credentials that cannot be used fail a
    collection like an API that cannot be reached. ``error`` is the
    CloudError of the last collection, None when it read the cloud; a
    failed read yields ``sev_scheduler_cloud_up 0`` alone.
    """

    def __init__(self, connect, audit=False):
        self.connect = connect
        self.audit = audit
        self.cloud = None
        self.error = None

    def collect(self):
        up = prometheus_core.GaugeMetricFamily(
            PREFIX + 'cloud_up',
            'Whether the last collection read Placement (and for the audit '
            'Nova and Glance)')
        try:
            if self.cloud is None:
                self.cloud = self.connect()
            slots = capacity.read(self.cloud)
            findings = audit.run(self.cloud) if self.audit else None
        except sev_cloud.CloudError as error:
            self.error = error
            LOG.error('Could not read the cloud: %s', error)
            up.add_metric([], 0)
            yield up
            return
        self.error = None
        yield from _slot_families(slots)
        if findings is not None:
            yield _findings_family(findings)
        up.add_metric([], 1)
        yield up


class Throttled:
    """A collector that collects at most once per ``interval`` seconds.

    Between, every scrape is served the families of the last collection,
    a failed one included (``cloud_up 0``): however often it is scraped,
    and by however many scrapers, the cloud is read no more often than
    that. Concurrent scrapes wait for the collection under way and share
    it. ``clock`` is monotonic seconds (tests move their own).
    """

    def __init__(self, collector, interval, clock=time.monotonic):
        self.collector = collector
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._families = None
        self._collected_at = None

    def collect(self):
        with self._lock:
            now = self.clock()
            if (self._families is None or
                    now - self._collected_at >= self.interval):
                self._families = list(self.collector.collect())
                self._collected_at = now
            families = self._families
        return iter(families)


def _slot_families(slots):
    families = {
        'capacity': prometheus_core.GaugeMetricFamily(
            PREFIX + 'slots_capacity',
            'Memory encryption slots a host offers for a model',
            labels=['host', 'model']),
        'used': prometheus_core.GaugeMetricFamily(
            PREFIX + 'slots_used',
            'Memory encryption slots of a model in use on a host',
            labels=['host', 'model']),
        'free': prometheus_core.GaugeMetricFamily(
            PREFIX + 'slots_free',
            'Memory encryption slots of a model free on a host',
            labels=['host', 'model']),
    }
    for row in slots:
        labels = [row.host, row.model]
        families['capacity'].add_metric(labels, row.total)
        families['used'].add_metric(labels, row.used)
        families['free'].add_metric(labels, row.total - row.used)
    return families.values()


def _findings_family(findings):
    family = prometheus_core.GaugeMetricFamily(
        PREFIX + 'audit_findings',
        'Findings of sev-scheduler audit, by kind', labels=['kind'])
    counts = collections.Counter(finding.kind for finding in findings)
    # Every kind, zero included, so that an alert sees it clear.
    for kind in audit.KINDS:
        family.add_metric([kind], counts[kind])
    return family


def registry(collector):
    """A registry of the collector alone (no process metrics)."""
    registry = prometheus_core.CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def exposition(registry):
    """The text exposition of one collection."""
    return prometheus_client.generate_latest(registry)


def write_textfile(path, data):
    """Write for node_exporter's textfile collector, atomically.

    A temporary file in the same directory, renamed over the target: the
    collector never reads half a file. Its name does not end in .prom,
    so the collector never reads it either.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix='.sev-metrics-')
    try:
        with os.fdopen(fd, 'wb') as textfile:
            textfile.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def serve(registry, address, port):
    """Serve the registry over HTTP; each scrape collects from it.

    :returns: the (server, thread) of prometheus_client.
    """
    return prometheus_client.start_http_server(port, addr=address,
                                               registry=registry)
