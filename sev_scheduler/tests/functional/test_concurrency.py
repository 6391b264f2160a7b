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

"""Many encrypted boots at once: never a slot used twice."""

import copy
import itertools

import fixtures

from nova.scheduler import rpcapi
from nova.tests import fixtures as nova_fixtures

from sev_scheduler.tests.functional import base


class ConcurrencyTestCase(base.SEVTestBase):
    """20 encrypted boots at once against 2 SEV hosts with 3 slots each."""

    # Requests are cast to the conductor and scheduled concurrently, as in
    # a real cloud.
    CAST_AS_CALL = False
    BOOTS = 20
    SLOTS = 3

    def setUp(self):
        super().setUp()
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        for hostname in ('sev1', 'sev2'):
            self.start_host(hostname, slots=self.SLOTS)

    def _boot_all_at_once(self):
        posted = [self.api.post_server({'server': self._build_server(
            name='sev%d' % index, image_uuid=self.images['sev'],
            flavor_id=self.flavors['sev'], networks='none')})
            for index in range(self.BOOTS)]
        return [self.settle(server) for server in posted]

    def _assert_no_slot_twice(self, servers):
        active = [s for s in servers if s['status'] == 'ACTIVE']
        refused = [s for s in servers if s['status'] == 'ERROR']
        self.assertEqual(2 * self.SLOTS, len(active))
        self.assertEqual(self.BOOTS - 2 * self.SLOTS, len(refused))
        for hostname in ('sev1', 'sev2'):
            on_host = [s for s in active if self.host_of(s) == hostname]
            self.assertEqual(self.SLOTS, self.slots_used(hostname))
            self.assertEqual(self.SLOTS, len(on_host))
        for server in active:
            slots = [resources.get('MEM_ENCRYPTION_CONTEXT', 0)
                     for resources in self._get_allocations_by_server_uuid(
                         server['id']).values()
                     for resources in [resources['resources']]]
            self.assertEqual(1, sum(slots), server['name'])
        for server in refused:
            self.assertIn('No valid host was found',
                          self.fault_of(server))

    def test_one_scheduler(self):
        self._assert_no_slot_twice(self._boot_all_at_once())

    def test_two_schedulers(self):
        # Nova's start_service() allows one scheduler; a large cloud runs
        # several, sharing nothing but Placement and the databases.
        second = self.useFixture(nova_fixtures.ServiceFixture(
            'scheduler', host='scheduler2')).service
        self._alternate_schedulers([self.scheduler.host, second.host])
        calls = {}
        for service in (self.scheduler, second):
            sev_filter = service.manager.host_manager.filter_obj_map[
                'SEVFilter']
            calls[service.host] = self.useFixture(
                fixtures.MockPatchObject(sev_filter, 'filter_all',
                                         wraps=sev_filter.filter_all)).mock
        self._assert_no_slot_twice(self._boot_all_at_once())
        for host, mock in calls.items():
            self.assertTrue(mock.called, '%s scheduled nothing' % host)

    def _alternate_schedulers(self, hosts):
        """Send each request to the next scheduler in turn.

        A message queue spreads them; Nova's fake transport gives all to one.
        """
        turns = itertools.cycle(hosts)
        select_destinations = rpcapi.SchedulerAPI.select_destinations

        class Pinned:
            def __init__(self, client, server):
                self.client, self.server = client, server

            def can_send_version(self, version):
                return self.client.can_send_version(version)

            def prepare(self, **kwargs):
                return self.client.prepare(server=self.server, **kwargs)

        def alternating(api, *args, **kwargs):
            pinned = copy.copy(api)
            pinned.client = Pinned(api.client, next(turns))
            return select_destinations(pinned, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.scheduler.rpcapi.SchedulerAPI.select_destinations',
            alternating))
