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

"""A cloud that cannot be read, through the real command lines (issue 21).

Every failure to read the cloud, a cloud name that clouds.yaml lacks
included, exits 255 ("nothing judged"), never a verdict, and ``metrics``
then writes ``sev_scheduler_cloud_up 0`` to stdout or its --output file, so
that a cron textfile and its alert see it. The commands are run as an
operator runs them, with the clouds.yaml of the in-process cloud
(``sev-test``) and --os-cloud, or OS_CLOUD.
"""

import os

import fixtures
from openstackclient import shell

from sev_scheduler.tests.functional import test_metrics
from sev_scheduler.tests.functional import test_osc
from sev_scheduler.tests.unit import test_operator_cloud

CLOUD = test_osc.CLOUD
DOWN = {('sev_scheduler_cloud_up', ()): 0}

#: The cloud-reading commands, with the arguments each needs besides the
#: cloud's.
COMMANDS = (('capacity',), ('explain', '--flavor', 'sev', '--image', 'sev'),
            ('audit',), ('metrics',))

#: openstack sev has no metrics.
OPENSTACK_COMMANDS = (('sev', 'capacity'),
                      ('sev', 'explain', '--flavor', 'sev', '--image', 'sev'),
                      ('sev', 'audit'))


def password(auth_url=None):
    """A clouds.yaml cloud's password credentials, auth_url if given."""
    auth = {'username': 'admin', 'password': 'secret',
            'project_name': 'admin', 'user_domain_id': 'default',
            'project_domain_id': 'default'}
    if auth_url:
        auth['auth_url'] = auth_url
    return {'auth_type': 'password', 'auth': auth}


class CloudUnreadableTestCase(test_osc.OpenStackClientTestCase):

    def unknown_cloud_variable(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_CLOUD', 'nosuch'))


class MetricsCloudDownTestCase(CloudUnreadableTestCase):
    """``sev-scheduler metrics``: cloud_up 0, wherever the read failed."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=1)

    def _cloud_down(self, *argv):
        """Assert cloud_up 0 alone and 255, on stdout and in --output."""
        status, out, err = self.sev_scheduler('metrics', *argv)
        self.assertEqual(255, status, err)
        self.assertEqual(DOWN, test_metrics.samples(out))
        self.assertIn('Could not read the cloud: ', err)
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'sev.prom')
        with open(path, 'w') as old:
            old.write('sev_scheduler_cloud_up 1\n')
        status, out, err = self.sev_scheduler('metrics', '--output', path,
                                              *argv)
        self.assertEqual((255, ''), (status, out), err)
        with open(path) as written:
            self.assertEqual(DOWN, test_metrics.samples(written.read()))
        # Replaced atomically, as a collection that read the cloud is.
        self.assertEqual(['sev.prom'], os.listdir(directory))
        return err

    def test_metrics_os_cloud_read_passes(self):
        status, out, err = self.sev_scheduler('metrics', '--os-cloud', CLOUD)
        self.assertEqual(0, status, err)
        self.assertEqual(1, test_metrics.samples(out)[
            ('sev_scheduler_cloud_up', ())])

    def test_metrics_cloud_not_in_clouds_yaml_cloud_up_zero_fails(self):
        err = self._cloud_down('--os-cloud', 'nosuch')
        self.assertIn('Cloud nosuch was not found', err)

    def test_metrics_os_cloud_variable_not_in_clouds_yaml_fails(self):
        self.unknown_cloud_variable()
        err = self._cloud_down()
        self.assertIn('Cloud nosuch was not found', err)

    def test_metrics_no_credentials_cloud_up_zero_fails(self):
        # No clouds.yaml cloud, no OS_* variable: nothing to authenticate
        # with.
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', os.path.join(
                self.useFixture(fixtures.TempDir()).path, 'clouds.yaml')))
        for name in [name for name in os.environ if name.startswith('OS_')
                     and name != 'OS_CLIENT_CONFIG_FILE']:
            self.useFixture(fixtures.EnvironmentVariable(name))
        err = self._cloud_down()
        self.assertIn('auth_url', err)

    def test_metrics_credentials_incomplete_cloud_up_zero_fails(self):
        self.clouds_yaml(**password())
        err = self._cloud_down('--os-cloud', CLOUD)
        self.assertIn('cannot authenticate', err)

    def test_metrics_keystone_unreachable_cloud_up_zero_fails(self):
        url = test_operator_cloud.closed_url()
        self.clouds_yaml(**password(url))
        err = self._cloud_down('--os-cloud', CLOUD)
        self.assertIn('cannot reach Keystone at %s' % url, err)


class UnknownCloudTestCase(CloudUnreadableTestCase):
    """A cloud name clouds.yaml lacks: 255 in every command, not a verdict.

    audit would say 1, "findings"; explain 2, "would not fit".
    """

    def _error(self, run, argv):
        status, out, err = run(*argv)
        self.assertEqual(255, status, (argv, err))
        return err

    def test_os_cloud_not_in_clouds_yaml_every_command_error_fails(self):
        for argv in COMMANDS:
            err = self._error(self.sev_scheduler, argv + ('--os-cloud',
                                                          'nosuch'))
            self.assertIn('Cloud nosuch was not found', err)

    def test_os_cloud_variable_not_in_clouds_yaml_every_command_fails(self):
        self.unknown_cloud_variable()
        for argv in COMMANDS:
            err = self._error(self.sev_scheduler, argv)
            self.assertIn('Cloud nosuch was not found', err)

    def test_openstack_credentials_incomplete_every_command_error_fails(self):
        self.clouds_yaml(**password())
        for argv in OPENSTACK_COMMANDS:
            err = self._error(self.openstack, argv)
            self.assertIn('Could not read the cloud: cannot authenticate',
                          err)

    def test_openstack_keystone_unreachable_every_command_error_fails(self):
        url = test_operator_cloud.closed_url()
        self.clouds_yaml(**password(url))
        for argv in OPENSTACK_COMMANDS:
            self._error(self.openstack, argv)

    def test_openstack_unknown_os_cloud_is_openstack_own_error_passes(self):
        # The openstack client reads --os-cloud (and OS_CLOUD) before it
        # looks the command up, and exits 1 for every command, its own
        # included: no plugin is asked. What the docs say.
        status, out, err = self._run(shell.main,
                                     ['--os-cloud', 'nosuch', 'sev', 'audit'])
        self.assertEqual((1, ''), (status, out))
        self.assertIn('Cloud nosuch was not found', err)
