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

"""What SEVFilter reads from Placement, how often, and for how long."""

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import exception
from nova import test

from sev_scheduler import capacity
from sev_scheduler import filters
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement
from sev_scheduler.tests.unit import faults


class TreesTestCase(test.TestCase):
    """SEVFilter on a process cache whose clock the test moves."""

    def setUp(self):
        super().setUp()
        factories.build_request(nova_context.get_admin_context())
        self.placement = fake_placement.use(self)
        self.clock = factories.Clock()
        self.useFixture(fixtures.MockPatchObject(
            capacity, 'CACHE', capacity.Cache(clock=self.clock)))
        self.flags(placement_max_age=60, group='sev_scheduler')
        self.hosts = []
        for index in range(20):
            name = 'sev%d' % index
            root = getattr(uuids, name)
            self.placement.add_slots(root, root, 'amd-sev', 16, 0)
            host = factories.sev_host(name, layout='root')
            host.total_usable_ram_mb = 16384
            self.hosts.append(host)

    def _passing(self, hosts=None):
        spec_obj = factories.encrypted_spec()
        return list(filters.SEVFilter().filter_all(
            factories.as_nova_hands_them(spec_obj, hosts or self.hosts),
            spec_obj))

    def _overcommit(self, host):
        self.placement.memory[host.uuid] = int((16384 - 512) * 1.5)

    def test_first_request_reads_sample_of_trees(self):
        passing = self._passing()
        self.assertEqual(5, len(passing))
        self.assertEqual(5, self.placement.calls)

    def test_sample_size_option_sets_reads(self):
        self.flags(placement_sample_size=8, group='sev_scheduler')
        self.assertEqual(8, len(self._passing()))
        self.assertEqual(8, self.placement.calls)

    def test_known_trees_serve_next_request_no_call(self):
        first = self._passing()
        self.clock.now += 59
        self.assertEqual(first, self._passing())
        self.assertEqual(5, self.placement.calls)

    def test_trees_past_max_age_read_again(self):
        self._passing()
        self.clock.now += 61
        self.assertEqual(5, len(self._passing()))
        self.assertEqual(10, self.placement.calls)

    def test_ratio_raised_in_placement_seen_after_max_age(self):
        first = self._passing()
        for host in first:
            self._overcommit(host)
        # Within the age, this scheduler acts on what it read.
        self.assertEqual(first, self._passing())
        self.clock.now += 61
        again = self._passing()
        self.assertEqual(5, len(again))
        self.assertFalse(set(map(id, first)) & set(map(id, again)))

    def test_overcommitted_trees_keep_reading_until_sample_passes(self):
        for host in self.hosts[:15]:
            self._overcommit(host)
        # In random order, until the five that pass are found.
        self.assertEqual(self.hosts[15:], self._passing())
        self.assertLessEqual(self.placement.calls, 20)

    def test_known_and_read_hosts_pass_in_nova_order(self):
        known = self._passing()
        self.flags(placement_sample_size=12, group='sev_scheduler')
        passing = self._passing()
        self.assertEqual(12, len(passing))
        self.assertTrue(set(map(id, known)) <= set(map(id, passing)))
        self.assertEqual(sorted(passing, key=self.hosts.index), passing)

    def test_reads_bounded_four_times_sample(self):
        for host in self.hosts:
            self._overcommit(host)
        self.flags(placement_sample_size=2, group='sev_scheduler')
        self.assertEqual([], self._passing())
        self.assertEqual(8, self.placement.calls)

    def test_multi_create_wants_one_more_host_per_instance(self):
        spec_obj = factories.encrypted_spec(numa_topology=None)
        spec_obj.num_instances = 4
        passing = list(filters.SEVFilter().filter_all(
            factories.as_nova_hands_them(spec_obj, self.hosts), spec_obj))
        self.assertEqual(8, len(passing))

    def test_placement_down_nothing_recent_refused(self):
        self._passing()
        self.clock.now += 61
        self.placement.error = ks_exc.ConnectFailure('down')
        error = self.assertRaises(exception.NoValidHost, self._passing)
        faults.assert_unchecked(self, error.format_message(),
                                'Placement is unreachable (ConnectFailure)',
                                self.stdlog.logger.output)

    def test_placement_down_recent_trees_still_admit(self):
        first = self._passing()
        self.clock.now += 30
        self.placement.error = ks_exc.ConnectFailure('down')
        self.assertEqual(first, self._passing())

    def test_placement_down_midway_known_hosts_only(self):
        first = self._passing(self.hosts[:2])
        self.placement.error = ks_exc.ConnectFailure('down')
        self.assertEqual(first, self._passing())

    def test_cap_read_by_each_request(self):
        self.flags(max_guests_per_host=4, group='sev_scheduler')
        self._passing(self.hosts[:3])
        self._passing(self.hosts[:3])
        self.assertEqual(6, self.placement.calls)

    def test_cap_reached_after_other_request_seen_fresh(self):
        self.flags(max_guests_per_host=4, group='sev_scheduler')
        hosts = self.hosts[:1]
        self.assertEqual(hosts, self._passing(hosts))
        self.placement.providers[0] = self.placement.providers[0]._replace(
            used=4)
        self.assertEqual([], self._passing(hosts))

    def test_nan_ratio_never_read_fails(self):
        for ratio in (float('nan'), float('inf'), -1.0, None):
            host = factories.sev_host('odd', layout='root',
                                      ram_allocation_ratio=ratio)
            self.assertEqual([], self._passing([host]), ratio)
        self.assertEqual(0, self.placement.calls)

    def test_placement_memory_nan_capacity_fails(self):
        host = self.hosts[0]
        self.placement.memory[host.uuid] = float('nan')
        self.assertEqual([], self._passing([host]))

    def _replace_slots(self, index, **fields):
        self.placement.providers[index] = self.placement.providers[
            index]._replace(**fields)

    def test_placement_slots_used_unknown_under_cap_fails(self):
        # Not a count of slots: never below a cap. The next host passes.
        self.flags(max_guests_per_host=4, group='sev_scheduler')
        for used in (float('nan'), -1, None, 1.5, True):
            self._replace_slots(0, used=used)
            self.assertEqual([self.hosts[1]], self._passing(self.hosts[:2]),
                             used)

    def test_placement_memory_unknown_capacity_fails(self):
        for memory in (-1, None, float('inf'), 1.5, '15872'):
            self.placement.memory[self.hosts[0].uuid] = memory
            self.assertEqual([self.hosts[1]], self._passing(self.hosts[:2]),
                             memory)

    def test_host_usable_ram_unknown_fails(self):
        # What the scheduler knows of the host's memory is no better.
        for usable in (float('inf'), float('nan'), -1, None):
            self.hosts[0].total_usable_ram_mb = usable
            self.assertEqual([self.hosts[1]], self._passing(self.hosts[:2]),
                             usable)

    def test_empty_tree_fails(self):
        # Placement describes no tree whose memory is all allocated.
        self.useFixture(fixtures.MockPatchObject(
            capacity, 'read_tree',
            side_effect=lambda context, root: capacity.Tree(root, {})))
        self.assertEqual([], self._passing(self.hosts[:2]))

    def test_sev_hosts_listed_once_per_max_age(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        plain = factories.plain_host('plain')
        for _ in range(3):
            spec_obj = factories.spec()
            self.assertEqual([plain], list(filters.SEVFilter().filter_all(
                self.hosts[:2] + [plain], spec_obj)))
        self.assertEqual(1, self.placement.calls)
        self.clock.now += 61
        filters.SEVFilter().filter_all(self.hosts[:2] + [plain],
                                       factories.spec())
        self.assertEqual(2, self.placement.calls)


class CacheTestCase(test.NoDBTestCase):

    def test_old_entries_swept_as_cache_grows(self):
        clock = factories.Clock()
        cache = capacity.Cache(clock=clock)
        self.flags(placement_max_age=60, group='sev_scheduler')
        self.useFixture(fixtures.MockPatchObject(
            capacity, 'read_tree',
            side_effect=lambda context, root: capacity.Tree(root, {})))
        for index in range(64):
            cache.read_tree(None, 'old%d' % index)
        clock.now += 61
        for index in range(64):
            cache.read_tree(None, 'new%d' % index)
        self.assertLessEqual(len(cache._trees), 64)
        self.assertIsNone(cache.tree('old0'))
        self.assertIsNotNone(cache.tree('new63'))
