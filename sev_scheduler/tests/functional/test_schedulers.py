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

import fixtures

from sev_scheduler import capacity
from sev_scheduler.tests.functional import base
from sev_scheduler.tests.unit import factories


class SeveralSchedulersTestCase(base.SEVTestBase):
    """Two nova-scheduler processes, each with its own copy of Placement.

    Nothing is shared between them but Placement. Each process holds its
    copy in ``capacity.CACHE``; the harness runs one scheduler service, and
    the test hands it the copy of the process that serves each request:
    the first, which read sev1's tree before the operator's change, or
    the second, which had not.
    """

    def setUp(self):
        super().setUp()
        self.flags(placement_max_age=60, group='sev_scheduler')
        self.clock = factories.Clock()
        self.first = capacity.Cache(clock=self.clock)
        self.second = capacity.Cache(clock=self.clock)
        self.start_host('sev1', slots=8)
        self.start_host('plain1')

    def _boot_through(self, cache, expected_state):
        with fixtures.MockPatchObject(capacity, 'CACHE', cache):
            return self.boot(flavor='sev', image='sev',
                             expected_state=expected_state)

    def test_ratio_raised_in_placement_acted_on_within_max_age(self):
        self.assertEqual('sev1', self.host_of(
            self._boot_through(self.first, 'ACTIVE')))
        self.set_memory_ratio('sev1', 1.5)
        # A scheduler that has not read sev1 yet reads it now.
        server = self._boot_through(self.second, 'ERROR')
        self.assertIn('No valid host was found', self.fault_of(server))
        # The first acts on its copy until the copy is too old...
        self.clock.now += 59
        self.assertEqual('sev1', self.host_of(
            self._boot_through(self.first, 'ACTIVE')))
        # ...and never after.
        self.clock.now += 2
        server = self._boot_through(self.first, 'ERROR')
        self.assertIn('No valid host was found', self.fault_of(server))
        self.assertEqual(2, self.slots_used('sev1'))

    def test_ratio_lowered_in_placement_acted_on_within_max_age(self):
        self.set_memory_ratio('sev1', 1.5)
        self._boot_through(self.first, 'ERROR')
        self.set_memory_ratio('sev1', 1.0)
        self.assertEqual('sev1', self.host_of(
            self._boot_through(self.second, 'ACTIVE')))
        self.clock.now += 61
        self.assertEqual('sev1', self.host_of(
            self._boot_through(self.first, 'ACTIVE')))
