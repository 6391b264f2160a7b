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

"""``sev-scheduler explain``: bad input exits 64 or 255, never 2 ("would
not fit").

What it answers is tested against the in-process cloud, in
``tests/functional/test_explain.py``.
"""

import fixtures

from sev_scheduler.tests.unit.cmd import base


class ExplainInputTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        # No clouds.yaml of the machine's.
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE',
            self.write_file('clouds.yaml', 'clouds: {}\n')))

    def _usage(self, *argv):
        status, out, err = self.run_command('explain', *argv)
        self.assertEqual((64, ''), (status, out))
        return err

    def _error(self, *argv):
        status, out, err = self.run_command('explain', *argv)
        self.assertEqual((255, ''), (status, out))
        return err

    def test_unknown_volume_bus_usage_fails(self):
        self.assertIn("invalid choice: 'floppy'", self._usage(
            '--flavor', 'f', '--image', 'i', '--volume-bus', 'floppy'))

    def test_unknown_option_usage_fails(self):
        self.assertIn('unrecognized arguments: --nope',
                      self._usage('srv', '--nope'))

    def test_nothing_to_explain_usage_fails(self):
        self.assertIn('give SERVER, or --flavor and --image',
                      self._usage('--flavor', 'f'))

    def test_server_and_flavor_usage_fails(self):
        self.assertIn('not both', self._usage('srv', '--flavor', 'f'))

    def test_again_without_server_usage_fails(self):
        self.assertIn('--again judges a SERVER', self._usage(
            '--again', '--flavor', 'f', '--image', 'i'))

    def test_help_lists_again_and_cannot_tell_passes(self):
        status, out, _err = self.run_command('help', 'explain')
        self.assertEqual(0, status)
        words = ' '.join(out.split())
        self.assertIn('--again', words)
        self.assertIn('1 cannot tell', words)

    def test_bad_nova_conf_value_error_fails(self):
        conf = self.write_file(
            'nova.conf', '[sev_scheduler]\nisolate_sev_hosts = maybe\n')
        self.assertIn('isolate_sev_hosts', self._error(
            'srv', '--nova-conf', conf))

    def test_unknown_cloud_error_fails(self):
        self.assertIn('nope', self._error('srv', '--os-cloud', 'nope'))
