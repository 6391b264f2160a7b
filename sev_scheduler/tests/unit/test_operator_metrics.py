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

"""operators.metrics and the metrics command's own parts.

Slots and findings against the in-process cloud are in
tests/functional/test_metrics.py.
"""

import argparse
import os
import re

import fixtures
from prometheus_client import parser
import testtools
import yaml

from sev_scheduler.cmd import metrics as metrics_cmd
from sev_scheduler import compat
from sev_scheduler.operators import audit
from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.operators import metrics
from sev_scheduler.tests.unit import canned_cloud
from sev_scheduler.tests.unit.cmd import base


def _families(collector):
    text = metrics.exposition(metrics.registry(collector)).decode()
    return {family.name: [(sample.labels, sample.value)
                          for sample in family.samples]
            for family in parser.text_string_to_metric_families(text)}


class CollectorTestCase(testtools.TestCase):

    def test_placement_down_only_cloud_up_zero(self):
        cloud = canned_cloud.CannedCloud({})
        collector = metrics.CloudCollector(lambda: cloud, audit=True)
        self.useFixture(fixtures.FakeLogger())
        self.assertEqual({'sev_scheduler_cloud_up': [({}, 0.0)]},
                         _families(collector))
        self.assertIn('answered 404', str(collector.error))

    def test_each_collection_reads_anew(self):
        cloud = canned_cloud.CannedCloud({})
        collector = metrics.CloudCollector(lambda: cloud)
        self.useFixture(fixtures.FakeLogger())
        registry = metrics.registry(collector)
        metrics.exposition(registry)
        first = cloud.calls['placement']
        metrics.exposition(registry)
        self.assertEqual(2 * first, cloud.calls['placement'])


class ConnectTestCase(testtools.TestCase):
    """Credentials that cannot be used fail a collection, not the command."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.attempts = []

    def _connect(self, fails):
        def connect():
            self.attempts.append(fails)
            if fails:
                raise sev_cloud.CloudError('cannot authenticate: no auth_url')
            return canned_cloud.CannedCloud({})
        return connect

    def test_connect_fails_only_cloud_up_zero(self):
        collector = metrics.CloudCollector(self._connect(fails=True))
        self.assertEqual({'sev_scheduler_cloud_up': [({}, 0.0)]},
                         _families(collector))
        self.assertEqual('cannot authenticate: no auth_url',
                         str(collector.error))

    def test_connect_tried_again_after_failure_passes(self):
        collector = metrics.CloudCollector(self._connect(fails=True))
        _families(collector)
        collector.connect = self._connect(fails=False)
        _families(collector)
        self.assertEqual([True, False], self.attempts)
        # The cloud made, and read: the canned Placement answers 404.
        self.assertIn('Placement answered 404', str(collector.error))

    def test_cloud_made_once_passes(self):
        collector = metrics.CloudCollector(self._connect(fails=False))
        _families(collector)
        _families(collector)
        self.assertEqual([False], self.attempts)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class ThrottledTestCase(testtools.TestCase):
    """At most one collection per interval, the last one served between."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.cloud = canned_cloud.CannedCloud({})
        self.clock = Clock()
        self.registry = metrics.registry(metrics.Throttled(
            metrics.CloudCollector(lambda: self.cloud), 60, clock=self.clock))

    def _scrape(self):
        metrics.exposition(self.registry)
        return self.cloud.calls['placement']

    def test_scrapes_within_interval_read_cloud_once_passes(self):
        first = self._scrape()
        self.clock.now += 59.9
        self.assertEqual(first, self._scrape())

    def test_scrape_after_interval_reads_anew_passes(self):
        first = self._scrape()
        self.clock.now += 60
        self.assertEqual(2 * first, self._scrape())

    def test_last_collection_served_between_passes(self):
        first = metrics.exposition(self.registry)
        self.clock.now += 30
        self.assertEqual(first, metrics.exposition(self.registry))

    def test_interval_zero_reads_every_scrape_passes(self):
        registry = metrics.registry(metrics.Throttled(
            metrics.CloudCollector(lambda: self.cloud), 0, clock=self.clock))
        metrics.exposition(registry)
        first = self.cloud.calls['placement']
        metrics.exposition(registry)
        self.assertEqual(2 * first, self.cloud.calls['placement'])


class TextfileTestCase(testtools.TestCase):

    def test_replaced_whole_no_temporary_left(self):
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'sev.prom')
        metrics.write_textfile(path, b'old 1\n')
        metrics.write_textfile(path, b'new 2\n')
        with open(path, 'rb') as textfile:
            self.assertEqual(b'new 2\n', textfile.read())
        self.assertEqual(['sev.prom'], os.listdir(directory))


class ListenAddressTestCase(testtools.TestCase):

    def test_forms(self):
        self.assertEqual(
            [('127.0.0.1', 9100), ('0.0.0.0', 9100), ('::1', 0),
             ('::', 9100)],
            [metrics_cmd.listen_address(text)
             for text in ('127.0.0.1:9100', '0.0.0.0:9100', '[::1]:0',
                          '[::]:9100')])

    def test_port_alone_localhost_passes(self):
        self.assertEqual(('127.0.0.1', 9100),
                         metrics_cmd.listen_address(':9100'))

    def test_bad_forms_refused(self):
        for text in ('9100', 'host:port', 'host:70000'):
            self.assertRaises(argparse.ArgumentTypeError,
                              metrics_cmd.listen_address, text)


class MetricsCommandTestCase(base.CommandTestCase):

    def test_unreachable_cloud_exit_255_cloud_up_zero(self):
        # A Placement endpoint nothing listens on.
        path = self.write_file('clouds.yaml', (
            'clouds:\n  down:\n    auth_type: admin_token\n    auth:\n'
            '      endpoint: http://127.0.0.1:9\n      token: admin\n'))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', path))
        status, out, err = self.run_command('metrics', '--os-cloud', 'down')
        self.assertEqual(255, status)
        self.assertIn('sev_scheduler_cloud_up 0.0', out)
        self.assertIn('Could not read the cloud: cannot reach Placement',
                      err)

    def test_bad_listen_address_usage_error(self):
        status, out, err = self.run_command('metrics', '--listen', 'x')
        self.assertEqual(64, status)
        self.assertIn("expected ADDRESS:PORT (e.g. 127.0.0.1:9178), not "
                      "'x'", err)

    def test_interval_negative_usage_fails(self):
        status, _out, err = self.run_command('metrics', '--listen', ':0',
                                             '--interval', '-1')
        self.assertEqual(64, status)
        self.assertIn("expected seconds, 0 or more, not '-1'", err)

    def test_listen_collects_through_throttle_passes(self):
        served = {}

        def serve(command, registry, address, port):
            served.update(interval=command.throttle.interval,
                          address=address, port=port)

        self.useFixture(fixtures.MonkeyPatch(
            'sev_scheduler.cmd.metrics.Metrics.serve', serve))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', self.write_file('clouds.yaml', (
                'clouds:\n  down:\n    auth_type: admin_token\n'
                '    auth:\n      endpoint: http://127.0.0.1:9\n'
                '      token: admin\n'))))
        self.run_command('metrics', '--listen', ':9178', '--interval', '45',
                         '--os-cloud', 'down')
        self.assertEqual({'address': '127.0.0.1', 'port': 9178,
                          'interval': 45}, served)


class DocumentedAlertRulesTestCase(testtools.TestCase):
    """The documented alert rules name metrics the collector writes."""

    RULES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc',
                         'source', 'admin', 'tools',
                         'sev-scheduler-alerts.yaml')

    def _rules(self):
        with open(self.RULES) as rules:
            return yaml.safe_load(rules)

    def _written(self):
        bodies = {('placement', '/resource_providers?required=%s' % trait): {
            'resource_providers': []}
            for trait in compat.KNOWN_MODEL_TRAITS.values()}
        servers = '/servers/detail?all_tenants=1&limit=%d' % audit.PAGE_SIZE
        bodies[('compute', servers)] = {'servers': []}
        cloud = canned_cloud.CannedCloud(bodies)
        collector = metrics.CloudCollector(lambda: cloud, audit=True)
        return set(_families(collector))

    def test_every_metric_named_is_written(self):
        rules = self._rules()['groups'][0]['rules']
        named = {name for rule in rules
                 for name in re.findall(r'sev_scheduler_\w+', rule['expr'])}
        self.assertEqual(
            {'sev_scheduler_slots_free', 'sev_scheduler_cloud_up',
             'sev_scheduler_audit_findings'}, named)
        self.assertLessEqual(named, self._written())

    def test_free_slots_rule_per_model_for_ten_minutes(self):
        rule = self._rules()['groups'][0]['rules'][0]
        self.assertEqual(('sum by (model) (sev_scheduler_slots_free) < 2',
                          '10m'), (rule['expr'], rule['for']))
