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

"""The demo's result table, from recorded outcomes (no cloud)."""

import prettytable
import testtools

from sev_scheduler.cmd import demo
from sev_scheduler.demo import results

NO_HOST = 'No valid host was found. '


def _outcome(request='ide-volume', asked='SEV + an IDE volume', servers=1,
             hosts=(), origin=None, reason='', explain=None, note=''):
    return results.Outcome(
        request, asked, ['%s-%d' % (request, n) for n in range(servers)],
        list(hosts), origin, reason, explain, note)


OUTCOMES = [
    _outcome('plain', 'no encryption', hosts=['plain-1']),
    _outcome(origin=results.SEV_FILTER, reason=NO_HOST + (
        'Memory encryption (amd-sev) cannot be used with the IDE bus: '
        'volume a07f71dc-8151-4e7d-a0cc-cd24a3f11113 (block device mapping '
        'disk_bus=ide)')),
    _outcome('no-uefi', 'SEV, image without hw_firmware_type=uefi',
             servers=0, origin=results.NOVA_API,
             reason="400 Memory encryption is requested by ... 'uefi'"),
    _outcome('one-more', 'SEV, every slot taken', origin=results.PLACEMENT,
             reason=NO_HOST, explain='sev-scheduler explain one-more-0'),
    _outcome('too-many', '5 SEV at once, 4 slots free', servers=5,
             origin=results.NOVA_SCHEDULER,
             reason=NO_HOST + 'There are not enough hosts available.',
             explain='sev-scheduler explain too-many-0'),
    _outcome('fill', '4 SEV at once', servers=4,
             hosts=['sev-1', 'sev-2', 'sev-1', 'sev-2']),
]


def _table(width, outcomes=OUTCOMES):
    table = prettytable.PrettyTable(demo.TABLE_COLUMNS)
    # As cliff aligns text.
    table.align = 'l'
    for row in demo._table_rows(outcomes, width):
        table.add_row(row)
    return table.get_string()


class DemoTableTestCase(testtools.TestCase):

    def test_table_within_80_columns_passes(self):
        for line in _table(80).splitlines():
            self.assertLessEqual(len(line), 80, line)

    def test_table_within_100_columns_wider_passes(self):
        widest = max(len(line) for line in _table(100).splitlines())
        self.assertLessEqual(widest, 100)
        self.assertGreater(widest, 80)

    def test_result_names_sevfilter_passes(self):
        self.assertEqual(
            'refused by SEVFilter: Memory encryption (amd-sev) cannot be '
            'used with the IDE bus: volume a07f71dc-8151-4e7d-a0cc-'
            'cd24a3f11113 (block device mapping disk_bus=ide)',
            demo._result(OUTCOMES[1]))

    def test_result_names_nova_api_passes(self):
        self.assertTrue(demo._result(OUTCOMES[2]).startswith(
            "refused by Nova's API: 400 "))

    def test_result_placement_gives_explain_passes(self):
        self.assertEqual(
            'refused by Placement; the fault says only "No valid host was '
            'found." Why: sev-scheduler explain one-more-0',
            demo._result(OUTCOMES[3]))

    def test_result_multi_create_all_refused_passes(self):
        self.assertTrue(demo._result(OUTCOMES[4]).startswith(
            "all 5 refused by Nova's scheduler; "))

    def test_result_multi_create_all_landed_passes(self):
        self.assertEqual('all 4 landed, on sev-1, sev-2',
                         demo._result(OUTCOMES[5]))

    def test_explain_command_on_one_line_passes(self):
        self.assertIn('| Why: sev-scheduler explain one-more-0 ', _table(80))

    def test_control_characters_escaped_passes(self):
        table = _table(80, [_outcome(
            'x', 'SEV', origin=results.SEV_FILTER,
            reason=NO_HOST + "alias '\x1b[2J'")])
        self.assertNotIn('\x1b', table)
        self.assertIn("alias '\\x1b[2J'", table)

    def test_notes_all_or_nothing_passes(self):
        notes = demo._notes(OUTCOMES)
        self.assertIn("Refused by: Nova's API, Nova's scheduler, Placement, "
                      'SEVFilter.', notes[0])
        self.assertIn('is all or nothing', notes[1])
        self.assertIn('"too-many" asked for 5 servers: all were refused.',
                      notes[1])
