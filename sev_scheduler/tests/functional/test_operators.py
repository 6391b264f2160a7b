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

"""What operators set, honoured on every path (issue 10)."""

from nova.tests import fixtures as nova_fixtures

from sev_scheduler.tests.functional import base


class IsolatedRebuildTestCase(base.SEVTestBase):
    """isolate_sev_hosts does not apply to a rebuild: its host is fixed."""

    # As in production: a refused rebuild is the server's fault.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)
        self.create_image('plain_other', {})

    def test_rebuild_plain_server_on_sev_host_works(self):
        # Placed before the operator turned isolation on.
        server = self.boot()
        self.assertEqual('sev1', self.host_of(server))
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        server = self._rebuild_server(server, self.images['plain_other'])
        self.assertEqual(self.images['plain_other'],
                         self.api.get_server(server['id'])['image']['id'])
        self.assertEqual('sev1', self.host_of(server))

    def test_new_plain_server_still_kept_off(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.boot(expected_state='ERROR')


class AggregateCapTestCase(base.SEVTestBase):
    """sev_max_guests=0 (no cap) in one aggregate never lifts another's."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=4)

    def _aggregate(self, name, cap):
        aggregate = self.admin_api.post_aggregate(
            {'aggregate': {'name': name}})
        self.admin_api.add_host_to_aggregate(aggregate['id'], 'sev1')
        self.admin_api.post_aggregate_action(aggregate['id'], {
            'set_metadata': {'metadata': {'sev_max_guests': cap}}})

    def test_cap_of_one_beside_zero_holds(self):
        self._aggregate('uncapped', '0')
        self._aggregate('capped', '1')
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
        self.boot(image='sev', expected_state='ERROR')
        self.assertEqual(1, self.slots_used('sev1'))

    def test_zero_alone_is_no_cap(self):
        self._aggregate('uncapped', '0')
        for _ in range(2):
            self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
        self.assertEqual(2, self.slots_used('sev1'))


class LongRefusalTestCase(base.SEVTestBase):
    """Every conflict is named within the fault's 255 characters."""

    VOLUMES = (nova_fixtures.CinderFixture.SWAP_OLD_VOL,
               nova_fixtures.CinderFixture.SWAP_NEW_VOL,
               nova_fixtures.CinderFixture.SWAP_ERR_OLD_VOL)

    def setUp(self):
        # The host has vGPUs: only SEVFilter refuses the flavor's.
        self.configure_devices()
        super().setUp()
        self.start_host('sev1', slots=4, pci_info=self.with_devices())
        # Three IDE volumes first, the vGPU last: without a summary, Nova
        # cuts the message before the vGPU.
        self.flags(checks=['ide_devices', 'mdev_vgpu'],
                   group='sev_scheduler')
        self.restart_scheduler()
        self.create_flavor('sev_vgpu', {'hw:mem_encryption': 'true',
                                        'resources:VGPU': '1'})

    def _boot_with_ide_volumes(self):
        body = self._build_server(
            image_uuid=self.images['sev'], flavor_id=self.flavors['sev_vgpu'],
            networks='none')
        body['block_device_mapping_v2'] = [
            {'boot_index': 0, 'uuid': self.images['sev'],
             'source_type': 'image', 'destination_type': 'local'}] + [
            {'boot_index': -1, 'uuid': volume, 'source_type': 'volume',
             'destination_type': 'volume', 'disk_bus': 'ide'}
            for volume in self.VOLUMES]
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, 'ERROR')

    def test_every_conflict_named_within_255_characters(self):
        server = self._boot_with_ide_volumes()
        message = self.assert_refused(server, 'the IDE bus', 'mdev vGPU')
        self.assertLessEqual(len(message), 255)

    def test_admin_reads_every_detail(self):
        server = self._boot_with_ide_volumes()
        details = self.admin_api.get_server(server['id'])['fault']['details']
        for volume in self.VOLUMES:
            self.assertIn('volume %s (block device mapping disk_bus=ide)'
                          % volume, details)
        self.assertIn('resources:VGPU=1', details)


class MultiCreateCapTestCase(base.SEVTestBase):
    """The instances of one request count against the host's cap."""

    def setUp(self):
        super().setUp()
        self.flags(max_guests_per_host=1, group='sev_scheduler')
        self.start_host('sev1', slots=4)

    def _multi_create(self, count):
        body = self._build_server(
            image_uuid=self.images['sev'], flavor_id=self.flavors['sev'],
            networks='none')
        body.update(min_count=count, max_count=count)
        self.api.post_server({'server': body})
        servers = self.api.get_servers(detail=True)
        self.assertEqual(count, len(servers))
        return [self.settle(server) for server in servers]

    def test_three_at_once_over_cap_of_one_refused(self):
        servers = self._multi_create(3)
        self.assertEqual(['ERROR'] * 3,
                         [server['status'] for server in servers])
        self.assertEqual(0, self.slots_used('sev1'))

    def test_three_at_once_one_per_host(self):
        self.start_host('sev2', slots=4)
        self.start_host('sev3', slots=4)
        servers = self._multi_create(3)
        self.assertEqual(['ACTIVE'] * 3,
                         [server['status'] for server in servers])
        self.assertEqual(['sev1', 'sev2', 'sev3'],
                         sorted(self.host_of(server) for server in servers))


class PlacementOvercommitTestCase(base.SEVTestBase):
    """Overcommit set in Placement, where HostState still says 1.0."""

    def setUp(self):
        super().setUp()
        # [DEFAULT] ram_allocation_ratio unset: Placement keeps what the
        # operator sets there.
        self.flags(ram_allocation_ratio=None)
        self.start_host('sev1', slots=4)
        self.set_memory_ratio('sev1', 1.5)

    def test_sev_refused_plain_lands(self):
        self.boot(image='sev', expected_state='ERROR')
        self.assertEqual(0, self.slots_used('sev1'))
        self.assertEqual('sev1', self.host_of(self.boot()))

    def test_host_at_one_in_placement_takes_sev(self):
        self.start_host('sev2', slots=4)
        self.assertEqual('sev2', self.host_of(self.boot(image='sev')))

    def test_overcommit_allowed_by_option_lands(self):
        self.flags(allow_memory_overcommit=True, group='sev_scheduler')
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
