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

"""Terminal-safe output: control characters never reach the terminal."""

import json

import testtools
import yaml

from sev_scheduler.cmd import output
from sev_scheduler.tests.unit.cmd import base

ESCAPE = '\x1b]0;owned\x07\x1b[2J'
SHOWN = '\\x1b]0;owned\\x07\\x1b[2J'


class EscapeTestCase(testtools.TestCase):

    def test_escape_c0_del_c1_shown_as_hex_passes(self):
        self.assertEqual('a\\x00\\x09\\x0a\\x7f\\x80\\x9bb',
                         output.escape('a\x00\t\n\x7f\x80\x9bb'))

    def test_escape_printable_unicode_unchanged_passes(self):
        self.assertEqual('sev-1 é ☃ \xa0', output.escape('sev-1 é ☃ \xa0'))

    def test_for_text_list_one_line_per_item_escaped_passes(self):
        self.assertEqual('a\\x0ab\nc',
                         output.for_text(['a\nb', 'c']))

    def test_for_text_number_unchanged_passes(self):
        self.assertEqual(3, output.for_text(3))


class CommandOutputTestCase(base.CommandTestCase):
    """Through a command: check-request shows an image property's value."""

    def _check(self, *formatter):
        return self.run_command(
            'check-request', '--extra-spec', 'hw:mem_encryption=true',
            '--image-property', 'hw_firmware_type=uefi',
            '--extra-spec', 'pci_passthrough:alias=%s:1' % ESCAPE,
            *formatter)

    def test_table_control_characters_escaped_passes(self):
        _status, out, _err = self._check('-f', 'table')
        self.assertNotIn('\x1b', out)
        self.assertIn(SHOWN, out)

    def test_value_control_characters_escaped_passes(self):
        _status, out, _err = self._check('-f', 'value')
        self.assertNotIn('\x1b', out)
        self.assertIn(SHOWN, out)

    def test_json_exact_value_passes(self):
        _status, out, _err = self._check('-f', 'json')
        self.assertIn(ESCAPE, json.loads(out)['Reasons'][0])

    def test_yaml_exact_value_passes(self):
        _status, out, _err = self._check('-f', 'yaml')
        self.assertIn(ESCAPE, yaml.safe_load(out)['Reasons'][0])
