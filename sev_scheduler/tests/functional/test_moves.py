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


class MovesTestCase(base.SEVTestBase):
    """An SEV server moves between SEV hosts, slot and all."""

    def setUp(self):
        super().setUp()
        self.allow_cold_migration()
        self.start_host('sev1', slots=2)
        self.start_host('sev2', slots=2)
        self.start_host('plain1')
        self.server = self.boot(flavor='sev', image='sev', host='sev1')

    def _assert_on_other_sev_host(self, server):
        self.assertEqual('sev2', self.host_of(server))
        self.assertEqual(0, self.slots_used('sev1'))
        self.assertEqual(1, self.slots_used('sev2'))

    def test_cold_migration(self):
        server = self._confirm_resize(self.migrate(self.server))
        self._assert_on_other_sev_host(server)

    def test_resize(self):
        self.create_flavor('sev_large', {'hw:mem_encryption': 'true'})
        self.flags(allow_resize_to_same_host=False)
        server = self._resize_server(self.server, self.flavors['sev_large'])
        server = self._confirm_resize(server)
        self._assert_on_other_sev_host(server)

    def test_shelve_unshelve(self):
        # Offload at once, freeing the host and its slot.
        self.flags(shelved_offload_time=0)
        self._shelve_server(self.server)
        self.assertEqual(0, self.slots_used('sev1'))
        self.disable_host('sev1')
        server = self._unshelve_server(self.server)
        self._assert_on_other_sev_host(server)

    def test_evacuate(self):
        service = self.admin_api.get_services(
            host='sev1', binary='nova-compute')[0]
        self.admin_api.put_service_force_down(service['id'], True)
        # Since microversion 2.95 an evacuated server arrives stopped.
        server = self._evacuate_server(self.server, expected_host='sev2')
        self.assertEqual('SHUTOFF', server['status'])
        self.assertEqual(1, self.slots_used('sev2'))
