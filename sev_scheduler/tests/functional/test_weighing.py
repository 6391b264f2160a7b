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

from sev_scheduler.tests.functional import base


class WeighingTestCase(base.SEVTestBase):
    """SEVWeigher on a real scheduler: spread, pack, plain guests."""

    def setUp(self):
        super().setUp()
        self.start_host('sev_big', slots=8)
        self.start_host('sev_small', slots=2)

    def test_spread_by_free_slots(self):
        # Both hosts have the same free RAM: the slots decide.
        self.assertEqual('sev_big', self.host_of(self.boot(image='sev')))

    def test_pack_with_negative_multiplier(self):
        self.flags(weight_multiplier=-10.0, group='sev_scheduler')
        self.assertEqual('sev_small', self.host_of(self.boot(image='sev')))

    def test_plain_guests_avoid_sev_hosts(self):
        self.start_host('plain1')
        for _ in range(3):
            self.assertEqual('plain1', self.host_of(self.boot()))

    def test_plain_guests_use_sev_hosts_when_nothing_else(self):
        self.start_host('plain1')
        self.disable_host('plain1')
        self.assertIn(self.host_of(self.boot()), ('sev_big', 'sev_small'))


class IsolationTestCase(base.SEVTestBase):
    """isolate_sev_hosts keeps plain guests off SEV hosts entirely."""

    def setUp(self):
        super().setUp()
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.start_host('sev1', slots=2)

    def test_plain_refused_with_only_sev_hosts(self):
        self.boot(expected_state='ERROR')

    def test_plain_lands_on_plain_host(self):
        self.start_host('plain1')
        self.assertEqual('plain1', self.host_of(self.boot()))

    def test_sev_still_lands_on_sev_host(self):
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))


class CapTestCase(base.SEVTestBase):
    """A cap below the hardware limit, from nova.conf or an aggregate."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=4)

    def test_option_cap_reached(self):
        self.flags(max_guests_per_host=1, group='sev_scheduler')
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
        self.boot(image='sev', expected_state='ERROR')
        self.assertEqual(1, self.slots_used('sev1'))

    def test_aggregate_cap_reached(self):
        aggregate = self.admin_api.post_aggregate(
            {'aggregate': {'name': 'sev-capped'}})
        self.admin_api.add_host_to_aggregate(aggregate['id'], 'sev1')
        self.admin_api.post_aggregate_action(aggregate['id'], {
            'set_metadata': {'metadata': {'sev_max_guests': '2'}}})
        for _ in range(2):
            self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
        self.boot(image='sev', expected_state='ERROR')
        self.assertEqual(2, self.slots_used('sev1'))
