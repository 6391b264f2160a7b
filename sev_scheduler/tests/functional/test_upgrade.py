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

"""A cloud mid-upgrade to Nova 2025.2: slots on root and child providers."""

import fixtures
import os_traits

from sev_scheduler import compat
from sev_scheduler.tests.functional import base


@base.needs_child_providers
class MixedLayoutTestCase(base.SEVTestBase):
    """Slots on the root provider (before 2025.2) and on a child (since).

    Host 'legacy' has its slots on its compute node's provider, host
    'modern' on a child provider per model. Schedulers are upgraded before
    computes, so only a scheduler of 2025.2 or later sees both.
    """

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.allow_cold_migration()
        self.start_host('modern', slots=2)
        self.start_host('legacy')
        self.legacy = self.compute_rp_uuids['legacy']
        inventories = self.placement.get(
            '/resource_providers/%s/inventories' % self.legacy).body
        inventories['inventories']['MEM_ENCRYPTION_CONTEXT'] = {
            'total': 2, 'reserved': 0, 'min_unit': 1, 'max_unit': 1,
            'step_size': 1, 'allocation_ratio': 1.0}
        self.placement.put('/resource_providers/%s/inventories'
                           % self.legacy, inventories)
        self._set_provider_traits(self.legacy, self._get_provider_traits(
            self.legacy) + [os_traits.HW_CPU_X86_AMD_SEV])
        # As Nova's own reshape tests do: keep the computes from reshaping
        # the legacy tree, and let the legacy host build SEV guests.
        for name in ('update_provider_tree',
                     '_guest_configure_mem_encryption'):
            self.useFixture(fixtures.MockPatch(
                'nova.virt.libvirt.driver.LibvirtDriver.' + name))

    def _legacy_used(self):
        return self._get_provider_usages(self.legacy).get(
            'MEM_ENCRYPTION_CONTEXT', 0)

    def test_both_layouts_fill_then_refuse(self):
        hosts = sorted(self.host_of(self.boot(image='sev'))
                       for _ in range(4))
        self.assertEqual(['legacy', 'legacy', 'modern', 'modern'], hosts)
        self.assertEqual(2, self._legacy_used())
        self.assertEqual(2, self.slots_used('modern'))
        self.boot(image='sev', expected_state='ERROR')

    def test_migrate_legacy_to_modern_and_back(self):
        server = self.boot(image='sev', host='legacy')
        self.assertEqual(1, self._legacy_used())
        server = self._confirm_resize(self.migrate(server, 'modern'))
        self.assertEqual('modern', self.host_of(server))
        self.assertEqual((0, 1), (self._legacy_used(),
                                  self.slots_used('modern')))
        server = self._confirm_resize(self.migrate(server, 'legacy'))
        self.assertEqual('legacy', self.host_of(server))
        self.assertEqual((1, 0), (self._legacy_used(),
                                  self.slots_used('modern')))

    def test_rebuild_on_legacy_host_keeps_slot(self):
        self.create_image('sev_other', base.SEV_IMAGE)
        server = self.boot(image='sev', host='legacy')
        server = self._rebuild_server(server, self.images['sev_other'])
        self.assertEqual('legacy', self.host_of(server))
        self.assertEqual(1, self._legacy_used())

    @base.needs_model(compat.AMD_SEV_ES)
    def test_rebuild_on_legacy_host_to_sev_es_refused(self):
        server = self.boot(image='sev', host='legacy')
        self.api.post_server_action(
            server['id'], {'rebuild': {'imageRef': self.images['sev_es']}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('holds no amd-sev-es encryption slot',
                      self.fault_of(server))
