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

"""``openstack sev ...``: the plugin, run by openstackclient's own shell.

The openstack client reads a clouds.yaml written here: an admin token, no
Keystone, and ``<service>_endpoint_override`` for each in-process API, as
for a cloud without a service catalog.
"""

import contextlib
import inspect
import io
import json
import logging
import os

import fixtures
from openstackclient import shell
from osc_lib import clientmanager as osc_clientmanager
import testtools

from sev_scheduler.cmd import main
from sev_scheduler.demo import apis
from sev_scheduler.osc import plugin
from sev_scheduler.tests.functional import cloud

CLOUD = 'sev-test'
TOKEN = apis.ADMIN_TOKEN


class ShellMixin:
    """Runs a command line in process, output captured."""

    def _run(self, entry, argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        # Both shells set up the root logger: keep their output in the
        # test's details.
        self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            status = entry(argv)
        self.assertNotIn('Traceback', stdout.getvalue() + stderr.getvalue())
        return status, stdout.getvalue(), stderr.getvalue()

    def openstack(self, *argv):
        """``openstack --os-cloud sev-test ARGV``: status, stdout, stderr."""
        # openstackclient caches a plugin's client on the ClientManager
        # class, for the life of the process: a fresh cache for each run,
        # as each openstack process has.
        cache = inspect.getattr_static(osc_clientmanager.ClientManager,
                                       plugin.API_NAME)
        cache._handle = None
        self.addCleanup(setattr, cache, '_handle', None)
        return self._run(shell.main, ['--os-cloud', CLOUD] + list(argv))

    def sev_scheduler(self, *argv):
        """``sev-scheduler ARGV``."""
        return self._run(main.main, list(argv))


class OpenStackClientTestCase(ShellMixin, cloud.OperatorTestBase):
    """The in-process cloud in a clouds.yaml, as cloud ``sev-test``."""

    def setUp(self):
        super().setUp()
        self.useFixture(apis.TokenUserFixture(self.api_fixture.project_id))
        self.clouds_yaml()

    def clouds_yaml(self, **overrides):
        """A clouds.yaml of one cloud, ``sev-test``, on the harness APIs.

        One cloud, named by --os-cloud in the argv each command is
        handed.
        """
        settings = {
            'auth_type': 'admin_token',
            # 'auth_token', not 'token': openstacksdk 4.4 (2025.1) sends
            # the token "None" for an admin_token cloud saying 'token'.
            'auth': {'endpoint': self.endpoints()['placement'],
                     'auth_token': TOKEN},
        }
        for service, url in self.endpoints().items():
            settings['%s_endpoint_override' % service] = url
        settings.update(overrides)
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'clouds.yaml')
        with open(path, 'w') as clouds_yaml:
            json.dump({'clouds': {CLOUD: settings}}, clouds_yaml)
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', path))


class CapacityTestCase(OpenStackClientTestCase):

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)
        self.start_host('sev2', slots=3)
        self.start_host('plain1')
        # The weigher prefers the host with more free slots.
        self.assertEqual('sev2', self.host_of(self.boot(image='sev')))

    def test_capacity_rows(self):
        status, out, err = self.openstack('sev', 'capacity', '-f', 'json')
        self.assertEqual(0, status, err)
        self.assertEqual([
            {'Host': 'sev1', 'Model': 'amd-sev', 'Total': 2, 'Used': 0,
             'Free': 2},
            {'Host': 'sev2', 'Model': 'amd-sev', 'Total': 3, 'Used': 1,
             'Free': 2},
            {'Host': '(cloud)', 'Model': 'amd-sev', 'Total': 5, 'Used': 1,
             'Free': 4},
        ], json.loads(out))

    def test_capacity_table_as_sev_scheduler_prints_it(self):
        status, out, err = self.openstack('sev', 'capacity')
        self.assertEqual(0, status, err)
        self.assertEqual(
            '+---------+---------+-------+------+------+\n'
            '| Host    | Model   | Total | Used | Free |\n'
            '+---------+---------+-------+------+------+\n'
            '| sev1    | amd-sev |     2 |    0 |    2 |\n'
            '| sev2    | amd-sev |     3 |    1 |    2 |\n'
            '| (cloud) | amd-sev |     5 |    1 |    4 |\n'
            '+---------+---------+-------+------+------+\n', out)
        self.assertEqual(
            (0, out), self.sev_scheduler('capacity', '--os-cloud', CLOUD)[:2])

    def test_capacity_wrong_endpoint_fails_with_reason(self):
        self.clouds_yaml(placement_endpoint_override=self.glance_endpoint)
        status, out, err = self.openstack('sev', 'capacity')
        self.assertEqual(255, status)
        self.assertEqual('', out)
        self.assertIn('Placement answered 404 to GET /resource_providers', err)


class CheckRequestTestCase(ShellMixin, testtools.TestCase):
    """``openstack sev check request``: offline, no credentials needed."""

    REFUSED = ('--extra-spec', 'hw:mem_encryption=true',
               '--extra-spec', 'pci_passthrough:alias=gpu:1',
               '--image-property', 'hw_firmware_type=uefi')

    def setUp(self):
        super().setUp()
        # No cloud at all: the command must not ask for one.
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', '/nonexistent/clouds.yaml'))

    def test_refused_exits_2(self):
        status, out, err = self._run(
            shell.main, ['sev', 'check', 'request', '-f', 'json'] +
            list(self.REFUSED))
        self.assertEqual(2, status, err)
        self.assertEqual({
            'Encrypted': 'yes', 'Model': 'amd-sev',
            'Devices': ["PCI passthrough: flavor alias 'gpu'"],
            'Verdict': 'refused',
            'Reasons': ["Memory encryption (amd-sev) cannot be used with "
                        "PCI passthrough: flavor alias 'gpu'"]},
            json.loads(out))

    def test_refused_as_sev_scheduler_prints_it(self):
        status, out, err = self._run(
            shell.main, ['sev', 'check', 'request'] + list(self.REFUSED))
        self.assertEqual(2, status, err)
        self.assertEqual(
            (2, out), self.sev_scheduler('check-request', *self.REFUSED)[:2])

    def test_bad_extra_spec_usage_fails(self):
        self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        stderr = io.StringIO()
        # argparse's way out, as for sev-scheduler.
        with contextlib.redirect_stderr(stderr):
            error = self.assertRaises(
                SystemExit, shell.main,
                ['sev', 'check', 'request', '--extra-spec', 'x'])
        self.assertEqual(64, error.code)
        self.assertIn('expected KEY=VALUE', stderr.getvalue())

    def test_help_lists_exit_status_passes(self):
        status, out, err = self._run(
            shell.main, ['help', 'sev', 'check', 'request'])
        self.assertEqual(0, status, err)
        self.assertIn('  2    refused\n', out)
        self.assertIn('  64   usage error', out)

    def test_table_control_characters_escaped_passes(self):
        status, out, err = self._run(
            shell.main, ['sev', 'check', 'request', '--extra-spec',
                         'hw:mem_encryption=true', '--extra-spec',
                         'pci_passthrough:alias=\x1b[2J:1',
                         '--image-property', 'hw_firmware_type=uefi'])
        self.assertEqual(2, status, err)
        self.assertNotIn('\x1b', out)
        self.assertIn("alias '\\x1b[2J'", out)

    def test_scheduled_exits_0(self):
        status, out, err = self._run(
            shell.main, ['sev', 'check', 'request', '-f', 'value',
                         '-c', 'Verdict', '--extra-spec',
                         'hw:mem_encryption=true', '--image-property',
                         'hw_firmware_type=uefi'])
        self.assertEqual((0, 'would be scheduled\n'), (status, out), err)


class ExplainTestCase(OpenStackClientTestCase):
    """``openstack sev explain``: a full cloud, through Nova's API."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=1)
        self.start_host('sev2', slots=1)
        self.boot(image='sev')
        self.boot(image='sev')
        self.server = self.boot(image='sev', expected_state='ERROR')

    def test_full_cloud_exit_2(self):
        status, out, err = self.openstack('sev', 'explain', self.server['id'],
                                          '-f', 'json')
        self.assertEqual(2, status, err)
        self.assertEqual('refused: no free amd-sev slot: 2 hosts, 2 of 2 used',
                         json.loads(out)['Answer'])

    def test_as_sev_scheduler_prints_it(self):
        status, out, err = self.openstack('sev', 'explain', self.server['id'])
        self.assertEqual(2, status, err)
        self.assertEqual((2, out), self.sev_scheduler(
            'explain', self.server['id'], '--os-cloud', CLOUD)[:2])


class AuditTestCase(OpenStackClientTestCase):
    """``openstack sev audit``: an admin's forced host, no filter ran."""

    def setUp(self):
        super().setUp()
        self.start_host('big', slots=2, ram_allocation_ratio=1.5)
        body = self._build_server(
            image_uuid=self.images['sev'], flavor_id=self.flavors['sev'],
            networks='none', az='nova:big')
        self.server = self._wait_for_state_change(
            self.admin_api.post_server({'server': body}), 'ACTIVE')

    def test_finding_exit_1(self):
        status, out, err = self.openstack('sev', 'audit', '-f', 'json',
                                          '-c', 'Server', '-c', 'Problem')
        self.assertEqual(1, status, err)
        self.assertEqual([{
            'Server': self.server['id'],
            'Problem': "its host's MEMORY_MB allocation ratio in Placement "
                       "is 1.5"}], json.loads(out))

    def test_as_sev_scheduler_prints_it(self):
        status, out, err = self.openstack('sev', 'audit')
        self.assertEqual(1, status, err)
        self.assertEqual((1, out), self.sev_scheduler(
            'audit', '--os-cloud', CLOUD)[:2])
