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

"""One exit-status contract for every sev-scheduler command.

0 ok, 1 warning (findings), 2 failure (refused), as oslo.upgradecheck;
64 a usage error (sysexits' EX_USAGE, never argparse's 2); 255 an error
that left no verdict. Verdicts themselves are tested with each command.
"""

import os
import re

import fixtures

from sev_scheduler.cmd import base as cmd_base
from sev_scheduler.tests.unit.cmd import base

COMMANDS = ('check-host', 'check-request', 'capacity', 'explain', 'audit',
            'metrics', 'demo')


class ContractTestCase(base.CommandTestCase):

    def test_codes_follow_upgradecheck_passes(self):
        self.assertEqual((0, 1, 2, 64, 255),
                         (cmd_base.OK, cmd_base.WARNING, cmd_base.FAILURE,
                          cmd_base.USAGE, cmd_base.ERROR))

    def test_help_of_every_command_lists_usage_and_error_passes(self):
        for name in COMMANDS:
            status, out, err = self.run_command('help', name)
            self.assertEqual(0, status, name)
            self.assertIn('Exit status:', out, name)
            self.assertIn('64   usage error', out, name)
            self.assertIn('255  error', out, name)

    def test_help_of_request_judges_names_unseen_paths_passes(self):
        for name in ('explain', 'check-request'):
            status, out, err = self.run_command('help', name)
            self.assertEqual(0, status, name)
            for path in ("a rebuild with the server's own image id",
                         'a rescue', 'hw_rescue_bus', 'a port or a volume '
                         'attached to a running server', 'forced host'):
                self.assertIn(path, ' '.join(out.split()), name)

    def test_docs_table_lists_these_codes_passes(self):
        page = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                            '..', 'doc', 'source', 'cli', 'index.rst')
        with open(page) as page_file:
            table = page_file.read().split('.. begin exit statuses')[
                1].split('.. end exit statuses')[0]
        self.assertEqual(
            [cmd_base.OK, cmd_base.WARNING, cmd_base.FAILURE,
             cmd_base.USAGE, cmd_base.ERROR],
            [int(code) for code in re.findall(r'^   \* - (\d+)$', table,
                                              re.MULTILINE)])

    def test_unknown_command_usage_fails(self):
        status, _out, _err = self.run_command('nope')
        self.assertEqual(64, status)

    def test_unknown_global_option_usage_fails(self):
        status, _out, _err = self.run_command('--nope', 'capacity')
        self.assertEqual(64, status)


class UsageTestCase(base.CommandTestCase):
    """A command line that cannot be read: 64, whichever the command.

    explain's and metrics' are tested with each command.
    """

    def _usage(self, *argv):
        status, out, err = self.run_command(*argv)
        self.assertEqual((64, ''), (status, out), err)
        return err

    def test_check_host_bad_number_usage_fails(self):
        self._usage('check-host', '--per-guest-overhead-mb', '0')

    def test_check_request_bad_extra_spec_usage_fails(self):
        self.assertIn('expected KEY=VALUE',
                      self._usage('check-request', '--extra-spec', 'x'))

    def test_capacity_unknown_option_usage_fails(self):
        self._usage('capacity', '--nope')

    def test_audit_bad_page_size_usage_fails(self):
        self._usage('audit', '--page-size', '0')

    def test_demo_no_sev_host_usage_fails(self):
        self._usage('demo', '--sev-hosts', '0')


class ErrorTestCase(base.CommandTestCase):
    """Nothing could be judged: 255, whichever the command.

    explain's, audit's and metrics' are tested with each command.
    """

    def setUp(self):
        super().setUp()
        # A cloud whose endpoint nothing listens on.
        path = self.write_file('clouds.yaml', (
            'clouds:\n  down:\n    auth_type: admin_token\n    auth:\n'
            '      endpoint: http://127.0.0.1:9\n      token: admin\n'))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', path))

    def _error(self, *argv):
        status, out, err = self.run_command(*argv)
        self.assertEqual(255, status, err)
        return out, err

    def test_check_request_unreadable_json_error_fails(self):
        self._error('check-request', '--flavor-json', '/nonexistent')

    def test_capacity_cloud_unreachable_error_fails(self):
        _out, err = self._error('capacity', '--os-cloud', 'down')
        self.assertIn('Could not read the cloud: cannot reach Placement',
                      err)

    def test_metrics_unwritable_file_error_fails(self):
        self._error('metrics', '--os-cloud', 'down',
                    '--output', '/nonexistent/dir/sev.prom')
