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

from sev_scheduler import compat
from sev_scheduler.tests.functional import base


class PlacementTestCase(base.SEVTestBase):
    """SEV requests land on SEV hosts with free slots; others anywhere."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)
        self.start_host('plain1')

    def test_sev_flavor_lands_on_sev_host(self):
        server = self.boot(flavor='sev', image='sev')
        self.assertEqual('sev1', self.host_of(server))
        self.assertEqual(1, self.slots_used('sev1'))

    def test_sev_image_lands_on_sev_host(self):
        server = self.boot(image='sev')
        self.assertEqual('sev1', self.host_of(server))
        self.assertEqual(1, self.slots_used('sev1'))

    def test_sev_image_holds_one_slot_on_slot_provider(self):
        # On the root provider before Nova 2025.2, on <host>_amd_sev since.
        server = self.boot(image='sev')
        self.assert_holds_one_slot(server, 'sev1')

    def test_plain_servers_boot_on_every_host(self):
        for host in ('sev1', 'plain1'):
            server = self.boot(host=host)
            self.assertEqual(host, self.host_of(server))
        self.assertEqual(0, self.slots_used('sev1'))

    def test_slots_run_out_next_sev_refused(self):
        for _ in range(2):
            self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
        server = self.boot(image='sev', expected_state='ERROR')
        self.assertIn('No valid host was found', self.fault_of(server))
        self.assertEqual(2, self.slots_used('sev1'))

    def test_delete_frees_slot(self):
        servers = [self.boot(image='sev') for _ in range(2)]
        self._delete_server(servers[0])
        self.assertEqual(1, self.slots_used('sev1'))
        self.assertEqual('sev1', self.host_of(self.boot(image='sev')))
        self.assertEqual(2, self.slots_used('sev1'))

    def test_multi_create_larger_than_free_slots_refused(self):
        body = self._build_server(
            image_uuid=self.images['sev'], flavor_id=self.flavors['sev'],
            networks='none')
        body.update(min_count=3, max_count=3)
        self.api.post_server({'server': body})
        servers = self.api.get_servers(detail=True)
        self.assertEqual(3, len(servers))
        for server in servers:
            self.assertEqual('ERROR', self._wait_for_state_change(
                server, 'ERROR')['status'])
        # Claims made for the first instances were given back.
        self.assertEqual(0, self.slots_used('sev1'))


class ModelsTestCase(base.SEVTestBase):
    """SEV-ES and SEV-SNP requests land only on hosts offering the model."""

    def setUp(self):
        super().setUp()
        self.start_host('sev_only', slots=4)
        self.start_host('sev_es', slots=4, es_slots=2)
        if compat.AMD_SEV_SNP in compat.AMD_MODELS:
            # Nova offers SEV-SNP there instead of SEV-ES; a Nova without
            # SEV-SNP would offer SEV-ES.
            self.start_host('sev_snp', slots=4, es_slots=2, snp=True)

    @base.needs_model(compat.AMD_SEV_SNP)
    def test_sev_snp_lands_on_sev_snp_host(self):
        for _ in range(2):
            server = self.boot(image='sev_snp')
            self.assertEqual('sev_snp', self.host_of(server))
        self.assert_holds_one_slot(server, 'sev_snp', compat.AMD_SEV_SNP)
        self.assertEqual(2, self.slots_used('sev_snp', compat.AMD_SEV_SNP))
        self.boot(image='sev_snp', expected_state='ERROR')

    @base.needs_model(compat.AMD_SEV_ES)
    def test_sev_es_lands_on_sev_es_host(self):
        for _ in range(2):
            server = self.boot(image='sev_es')
            self.assertEqual('sev_es', self.host_of(server))
        self.assert_holds_one_slot(server, 'sev_es', compat.AMD_SEV_ES)
        self.assertEqual(2, self.slots_used('sev_es', compat.AMD_SEV_ES))
        self.boot(image='sev_es', expected_state='ERROR')


class MemoryTestCase(base.SEVTestBase):
    """An SEV host overcommitting memory gets plain guests only."""

    def setUp(self):
        super().setUp()
        self.start_host('overcommitted', slots=4, ram_allocation_ratio=1.5)

    def test_overcommitted_host_refuses_sev_takes_plain(self):
        self.boot(image='sev', expected_state='ERROR')
        self.assertEqual(0, self.slots_used('overcommitted'))
        self.assertEqual('overcommitted', self.host_of(self.boot()))

    def test_second_host_at_ratio_one_takes_sev(self):
        self.start_host('strict', slots=4)
        self.assertEqual('strict', self.host_of(self.boot(image='sev')))
