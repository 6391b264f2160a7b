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

import json
import os

import fixtures
import os_traits
from oslo_utils.fixture import uuidsentinel as uuids
import testtools

from sev_scheduler import compat
from sev_scheduler.operators import capacity
from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.tests.unit.cmd import base
from sev_scheduler.tests.unit import placement_server
from sev_scheduler.tests.unit import releases

SLOT = 'MEM_ENCRYPTION_CONTEXT'
HOST = {'VCPU': 64, 'MEMORY_MB': 262144}
# The slot providers' traits, as the computes of each layout set them.
SEV = compat.KNOWN_MODEL_TRAITS[compat.AMD_SEV]
SEV_ES = compat.KNOWN_MODEL_TRAITS[compat.AMD_SEV_ES]
SEV_SNP = compat.KNOWN_MODEL_TRAITS.get(compat.AMD_SEV_SNP)
# A GPU as PCI in Placement reports it, and the trait of its CC mode.
GPU_CLASS = 'CUSTOM_PCI_10DE_2331'
CC_TRAIT = 'CUSTOM_NVIDIA_CC_ON'
_NO_SNP_TRAIT = ('the installed os-traits names no SEV-SNP trait, which '
                 'Placement refuses: %s'
                 % compat.unsupported_model_reason(compat.AMD_SEV_SNP))


class _RecordingCloud(sev_cloud.Cloud):
    """A Cloud of Placement alone, keeping every URL it asked for."""

    def __init__(self, adapter):
        super().__init__({'placement': adapter})
        self.urls = []

    def get(self, service, url, microversion=None):
        self.urls.append(url)
        return super().get(service, url, microversion)


class CapacityTestCase(base.CommandTestCase):
    """``sev-scheduler capacity`` against a real Placement, both layouts."""

    def setUp(self):
        super().setUp()
        self.placement = self.useFixture(placement_server.PlacementServer())
        place = self.placement
        # Nova 2025.1: slots on the compute node's root provider, which has
        # the AMD SEV trait.
        legacy = place.provider('legacy', dict(HOST, **{SLOT: 15}), [SEV])
        # Since 2025.2: a child provider per model.
        new = place.provider('new', HOST)
        new_sev = place.provider('new_amd_sev', {SLOT: 10}, [SEV],
                                 parent=new)
        new_es = place.provider('new_amd_sev_es', {SLOT: 5}, [SEV_ES],
                                parent=new)
        # A host whose only slots are all taken.
        full = place.provider('full', HOST)
        full_sev = place.provider('full_amd_sev', {SLOT: 2}, [SEV],
                                  parent=full)
        place.provider('plain', HOST)
        place.allocate(uuids.vm1, {legacy: {'VCPU': 1, SLOT: 1}})
        place.allocate(uuids.vm2, {new: {'VCPU': 1}, new_sev: {SLOT: 1}})
        place.allocate(uuids.vm3, {new: {'VCPU': 1}, new_es: {SLOT: 1}})
        place.allocate(uuids.vm4, {new: {'VCPU': 1}, new_es: {SLOT: 1}})
        for vm in (uuids.vm5, uuids.vm6):
            place.allocate(vm, {full: {'VCPU': 1}, full_sev: {SLOT: 1}})

    def _clouds_yaml(self):
        # 'auth_token': openstacksdk 4.4 (2025.1) sends the token "None"
        # for an admin_token cloud whose auth says 'token'.
        path = self.write_file('clouds.yaml', json.dumps({'clouds': {
            'test': {'auth_type': 'admin_token',
                     'auth': {'endpoint': self.placement.endpoint,
                              'auth_token': 'admin'}}}}))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', path))

    def _capacity(self, *argv):
        status, out, err = self.run_command('capacity', '-f', 'json', *argv)
        self.assertEqual(0, status, err)
        return [(row['Host'], row['Model'], row['Total'], row['Used'],
                 row['Free']) for row in json.loads(out)]

    EXPECTED = [
        ('full', 'amd-sev', 2, 2, 0),
        ('legacy', 'amd-sev', 15, 1, 14),
        ('new', 'amd-sev', 10, 1, 9),
        ('new', 'amd-sev-es', 5, 2, 3),
        ('(cloud)', 'amd-sev', 27, 4, 23),
        ('(cloud)', 'amd-sev-es', 5, 2, 3),
    ]

    def test_clouds_yaml_both_layouts(self):
        self._clouds_yaml()
        self.assertEqual(self.EXPECTED, self._capacity('--os-cloud', 'test'))

    def test_nova_conf_placement_section(self):
        conf = self.write_file('nova.conf', (
            '[placement]\nauth_type = admin_token\nendpoint = %s\n'
            'token = admin\n' % self.placement.endpoint))
        self.assertEqual(self.EXPECTED, self._capacity('--nova-conf', conf))

    def test_few_calls_whatever_the_hosts(self):
        for index in range(20):
            root = self.placement.provider('extra%d' % index, HOST)
            self.placement.provider('extra%d_amd_sev' % index, {SLOT: 4},
                                    [os_traits.HW_CPU_X86_AMD_SEV],
                                    parent=root)
        cloud = sev_cloud.Cloud({'placement': self.placement.client})
        slots = capacity.read(cloud)
        self.assertEqual(24, len(slots))
        # A listing per trait os-traits knows, one candidates query, and
        # two calls for the one provider whose tree has no free slot.
        self.assertEqual(len(compat.KNOWN_MODEL_TRAITS) + 3,
                         cloud.calls['placement'])

    def test_only_traits_os_traits_knows_sent(self):
        cloud = _RecordingCloud(self.placement.client)
        capacity.read(cloud)
        sent = {url.partition('required=')[2] for url in cloud.urls
                if 'required=' in url}
        self.assertEqual(set(compat.KNOWN_MODEL_TRAITS.values()), sent)
        self.assertTrue(sent <= set(os_traits.get_traits()))

    def test_sev_es_slots_reported_whatever_nova_places(self):
        # Placement holds what the computes report: SEV-ES slots of a
        # newer compute count even where the local Nova places none.
        rows = capacity.read(
            sev_cloud.Cloud({'placement': self.placement.client}))
        self.assertIn(capacity.Slots('new', compat.AMD_SEV_ES, 5, 2),
                      rows)

    @testtools.skipIf(SEV_SNP is None, _NO_SNP_TRAIT)
    def test_sev_snp_child_provider(self):
        snp = self.placement.provider('snp', HOST)
        snp_slots = self.placement.provider(
            'snp_amd_sev_snp', {SLOT: 3}, [SEV_SNP], parent=snp)
        self.placement.allocate(uuids.vm7, {snp: {'VCPU': 1},
                                            snp_slots: {SLOT: 1}})
        self._clouds_yaml()
        rows = self._capacity('--os-cloud', 'test')
        self.assertIn(('snp', 'amd-sev-snp', 3, 1, 2), rows)
        self.assertIn(('(cloud)', 'amd-sev-snp', 3, 1, 2), rows)

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_confidential_devices_free_per_snp_host(self):
        place = self.placement
        place.client.put('/resource_classes/%s' % GPU_CLASS)
        snp = place.provider('snp', HOST)
        place.provider('snp_amd_sev_snp', {SLOT: 3}, [SEV_SNP], parent=snp)
        gpus = [place.provider('snp_0000:%02x:00.0' % bus, {GPU_CLASS: 1},
                               [CC_TRAIT], parent=snp) for bus in (1, 2, 3)]
        place.allocate(uuids.vm7, {snp: {'VCPU': 1}, gpus[0]: {GPU_CLASS: 1}})
        # The same GPU, not in CC mode: never counted.
        place.provider('snp_0000:04:00.0', {GPU_CLASS: 1}, parent=snp)
        snp2 = place.provider('snp2', HOST)
        place.provider('snp2_amd_sev_snp', {SLOT: 3}, [SEV_SNP], parent=snp2)
        place.provider('snp2_0000:01:00.0', {GPU_CLASS: 1}, parent=snp2)
        nova_conf = self.write_file('nova.conf', (
            '[placement]\nauth_type = admin_token\nendpoint = %s\n'
            'token = admin\n'
            '[pci]\nalias = {"name": "cc-gpu", "vendor_id": "10de", '
            '"product_id": "2331", "traits": "nvidia_cc_on"}\n'
            '[filter_scheduler]\npci_in_placement = true\n'
            '[sev_scheduler]\nsnp_pci_aliases = cc-gpu\n'
            'confidential_device_traits = %s\n'
            % (self.placement.endpoint, CC_TRAIT)))
        status, out, err = self.run_command('capacity', '-f', 'json',
                                            '--nova-conf', nova_conf)
        self.assertEqual(0, status, err)
        rows = {(row['Host'], row['Model']): row['CC devices free']
                for row in json.loads(out)}
        self.assertEqual(2, rows['snp', 'amd-sev-snp'])
        self.assertEqual(0, rows['snp2', 'amd-sev-snp'])
        self.assertEqual(2, rows['(cloud)', 'amd-sev-snp'])
        self.assertEqual('-', rows['new', 'amd-sev'])

    def test_no_confidential_devices_no_column(self):
        self._clouds_yaml()
        status, out, err = self.run_command('capacity', '-f', 'json',
                                            '--os-cloud', 'test')
        self.assertNotIn('CC devices free', json.loads(out)[0])

    def test_placement_unreachable_fails(self):
        conf = self.write_file('nova.conf', (
            '[placement]\nauth_type = admin_token\n'
            'endpoint = http://127.0.0.1:9/\ntoken = admin\n'))
        status, out, err = self.run_command('capacity', '--nova-conf', conf)
        self.assertNotEqual(0, status)
        self.assertEqual('', out)
        self.assertIn('cannot reach Placement', err)

    def test_bad_credentials_fail(self):
        conf = self.write_file('nova.conf', (
            '[placement]\nauth_type = admin_token\nendpoint = %s\n'
            'token = nobody\n' % self.placement.endpoint))
        status, out, err = self.run_command('capacity', '--nova-conf', conf)
        self.assertNotEqual(0, status)
        self.assertIn('Placement answered 403', err)

    def test_unknown_cloud_fails(self):
        self._clouds_yaml()
        status, out, err = self.run_command('capacity', '--os-cloud', 'nope')
        self.assertNotEqual(0, status)
        self.assertIn('cannot authenticate', err)

    def test_missing_nova_conf_fails(self):
        status, out, err = self.run_command('capacity', '--nova-conf',
                                            os.path.join('/nonexistent'))
        self.assertNotEqual(0, status)
        self.assertIn('cannot use [placement]', err)
