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

"""The --os-* options of a cloud command, from the argv main() is handed."""

import os

import fixtures

from sev_scheduler.tests.unit.cmd import base
from sev_scheduler.tests.unit import test_operator_cloud


class CloudArgumentsTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        # No clouds.yaml, no OS_* variable of the machine's.
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', self.write_file('clouds.yaml',
                                                     'clouds: {}\n')))
        for name in [name for name in os.environ if name.startswith('OS_')
                     and name != 'OS_CLIENT_CONFIG_FILE']:
            self.useFixture(fixtures.EnvironmentVariable(name))

    def test_auth_type_options_from_main_argv_passes(self):
        # --os-token exists only once --os-auth-type is read from these
        # arguments: the default, password, has none.
        url = test_operator_cloud.closed_url()
        status, out, err = self.run_command(
            'capacity', '--os-auth-type', 'v3token', '--os-auth-url', url,
            '--os-token', 'token', '--os-project-name', 'admin',
            '--os-project-domain-id', 'default')
        self.assertIn('cannot reach Keystone at %s: ' % url, err)

    def _cloud_error(self, *argv):
        status, out, err = self.run_command(*argv)
        self.assertEqual((255, ''), (status, out), err)
        return err

    def test_unknown_os_cloud_variable_error_fails(self):
        # Read while the parser is built: not cliff's 1, a verdict here.
        self.useFixture(fixtures.EnvironmentVariable('OS_CLOUD', 'nosuch'))
        self.assertIn('Could not read the cloud: cannot authenticate: '
                      'Cloud nosuch was not found',
                      self._cloud_error('audit'))

    def test_unknown_os_auth_type_variable_error_fails(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_AUTH_TYPE',
                                                     'nosuch'))
        self.assertIn('The plugin nosuch could not be found',
                      self._cloud_error('audit'))

    def test_unknown_os_auth_type_option_error_fails(self):
        self.assertIn('The plugin nosuch could not be found',
                      self._cloud_error('audit', '--os-auth-type', 'nosuch'))
