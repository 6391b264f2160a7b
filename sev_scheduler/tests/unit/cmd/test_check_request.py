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

from oslo_config import fixture as config_fixture

from nova.pci import request as pci_request

from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler.tests.unit.cmd import base
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import releases

UEFI = ('--image-property', 'hw_firmware_type=uefi')


class CheckRequestTestCase(base.CommandTestCase):

    def _check(self, *argv):
        status, out, err = self.run_command('check-request', '-f', 'json',
                                            *argv)
        return status, (json.loads(out) if out else None), err

    def test_plain_request_scheduled(self):
        status, result, _ = self._check()
        self.assertEqual(0, status)
        self.assertEqual({'Encrypted': 'no', 'Model': '-', 'Devices': [],
                          'Verdict': 'would be scheduled', 'Reasons': []},
                         result)

    def test_encrypted_request_scheduled(self):
        status, result, _ = self._check(
            '--extra-spec', 'hw:mem_encryption=true', *UEFI)
        self.assertEqual(0, status)
        self.assertEqual('amd-sev', result['Model'])
        self.assertEqual('would be scheduled', result['Verdict'])

    @releases.requires_model(compat.AMD_SEV_ES)
    def test_amd_sev_es_request_scheduled(self):
        status, result, _ = self._check(
            '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'hw:mem_encryption_model=amd-sev-es', *UEFI)
        self.assertEqual(0, status)
        self.assertEqual('amd-sev-es', result['Model'])
        self.assertEqual('would be scheduled', result['Verdict'])

    @releases.refuses_model(compat.AMD_SEV_SNP)
    def test_model_of_later_release_refused(self):
        status, result, _ = self._check(
            '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'hw:mem_encryption_model=amd-sev-snp',
            '--image-property', 'hw_firmware_stateless=true', *UEFI)
        self.assertEqual(2, status)
        self.assertIn("memory encryption model 'amd-sev-snp' needs "
                      "OpenStack 2026.2", result['Reasons'][0])

    @releases.drops_image_model
    def test_image_model_nova_drops_refused(self):
        status, result, _ = self._check(
            '--extra-spec', 'hw:mem_encryption=true',
            '--image-property', 'hw_mem_encryption_model=amd-sev-es', *UEFI)
        self.assertEqual(2, status)
        self.assertIn("memory encryption model 'amd-sev-es' needs "
                      "OpenStack 2025.2", result['Reasons'][0])

    def test_pci_alias_without_definition_refused(self):
        status, result, _ = self._check(
            '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'pci_passthrough:alias=gpu:1',
            '--image-property', 'hw_cdrom_bus=ide', *UEFI)
        self.assertEqual(2, status)
        self.assertEqual(
            ["Memory encryption (amd-sev) cannot be used with PCI "
             "passthrough: flavor alias 'gpu'; the IDE bus: image property "
             "hw_cdrom_bus=ide"], result['Reasons'])

    def _confidential_gpu(self, model):
        """check-request in a process set up as the scheduler is."""
        config = self.useFixture(config_fixture.Config(conf.CONF))
        factories.confidential_gpu_options(config.config)
        # Nova reads [pci] alias once per process.
        pci_request.get_alias_from_config.cache_clear()
        self.addCleanup(pci_request.get_alias_from_config.cache_clear)
        return self._check(
            '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'hw:mem_encryption_model=%s' % model,
            '--extra-spec', 'pci_passthrough:alias=cc-gpu:1',
            '--image-property', 'hw_firmware_stateless=true', *UEFI)

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_confidential_gpu_scheduled(self):
        status, result, _ = self._confidential_gpu(compat.AMD_SEV_SNP)
        self.assertEqual(0, status)
        self.assertEqual('would be scheduled', result['Verdict'])
        self.assertEqual(
            ["flavor alias 'cc-gpu': allowed: confidential device"],
            result['Devices'])

    def _scheduler_nova_conf(self, alias_traits):
        """The nova.conf of a scheduler offering 'cc-gpu' to SNP guests."""
        return self.write_file('nova.conf', (
            '[pci]\n'
            'alias = {"name": "cc-gpu", "vendor_id": "10de", '
            '"product_id": "2331"%s}\n'
            '[filter_scheduler]\npci_in_placement = true\n'
            '[sev_scheduler]\nsnp_pci_aliases = cc-gpu\n'
            'confidential_device_traits = CUSTOM_NVIDIA_CC_ON\n'
            % alias_traits))

    def _snp_gpu_with_nova_conf(self, path):
        return self._check(
            '--nova-conf', path,
            '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'hw:mem_encryption_model=amd-sev-snp',
            '--extra-spec', 'pci_passthrough:alias=cc-gpu:1',
            '--image-property', 'hw_firmware_stateless=true', *UEFI)

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_confidential_gpu_with_scheduler_nova_conf_scheduled(self):
        # Away from the scheduler, its [pci] alias comes from its nova.conf.
        status, result, _ = self._snp_gpu_with_nova_conf(
            self._scheduler_nova_conf(', "traits": "nvidia_cc_on"'))
        self.assertEqual(0, status)
        self.assertEqual(
            ["flavor alias 'cc-gpu': allowed: confidential device"],
            result['Devices'])

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_alias_without_trait_in_nova_conf_refused(self):
        status, result, _ = self._snp_gpu_with_nova_conf(
            self._scheduler_nova_conf(''))
        self.assertEqual(2, status)
        reason = ("PCI passthrough: flavor alias 'cc-gpu' is not safe: its "
                  "[pci] alias requires no trait of [sev_scheduler] "
                  "confidential_device_traits")
        self.assertEqual([reason], result['Devices'])
        self.assertIn(reason, result['Reasons'][0])

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_sev_es_confidential_gpu_refused(self):
        status, result, _ = self._confidential_gpu(compat.AMD_SEV_ES)
        self.assertEqual(2, status)
        self.assertEqual(
            ["Memory encryption (amd-sev-es) cannot be used with PCI "
             "passthrough: flavor alias 'cc-gpu' (use amd-sev-snp and an "
             "alias listed in [sev_scheduler] snp_pci_aliases)"],
            result['Reasons'])

    def test_every_reason_listed(self):
        status, result, _ = self._check(
            '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'resources:VGPU=1')
        self.assertEqual(2, status)
        self.assertEqual(2, len(result['Reasons']))
        self.assertIn("hw_firmware_type", result['Reasons'][0])
        self.assertIn("mdev vGPU", result['Reasons'][1])

    def test_malformed_value_refused(self):
        status, result, _ = self._check('--extra-spec',
                                        'hw:mem_encryption=maybe')
        self.assertEqual(2, status)
        self.assertIn("'maybe', which is neither true nor false",
                      result['Reasons'][0])

    def test_flavor_and_image_json(self):
        # The newest model this Nova honours: amd-sev-snp on 2026.2.
        model = compat.AMD_MODELS[-1]
        flavor = self.write_file('flavor.json', json.dumps(
            {'name': 'm1.sev', 'properties': {
                'hw:mem_encryption': 'true',
                'hw:mem_encryption_model': model}}))
        image = self.write_file('image.json', json.dumps(
            {'name': 'ubuntu', 'properties': {
                'hw_firmware_type': 'uefi',
                'hw_firmware_stateless': 'True', 'hw_disk_bus': 'usb'}}))
        status, result, _ = self._check('--flavor-json', flavor,
                                        '--image-json', image)
        self.assertEqual(2, status)
        self.assertEqual(model, result['Model'])
        self.assertIn("boot disk bus 'usb'", result['Reasons'][0])

    def test_older_client_property_string(self):
        flavor = self.write_file('flavor.json', json.dumps(
            {'name': 'm1.sev', 'properties':
             "hw:mem_encryption='true', pci_passthrough:alias='gpu:2'"}))
        status, result, _ = self._check('--flavor-json', flavor, *UEFI)
        self.assertEqual(2, status)
        self.assertIn("flavor alias 'gpu'", result['Reasons'][0])

    def test_command_line_wins_over_json(self):
        flavor = self.write_file('flavor.json', json.dumps(
            {'properties': {'hw:mem_encryption': 'true'}}))
        status, result, _ = self._check(
            '--flavor-json', flavor, '--extra-spec', 'hw:mem_encryption=no')
        self.assertEqual(0, status)
        self.assertEqual('no', result['Encrypted'])

    def test_table_lists_reasons_one_per_line(self):
        status, out, _ = self.run_command(
            'check-request', '--extra-spec', 'hw:mem_encryption=true',
            '--extra-spec', 'resources:VGPU=1')
        self.assertEqual(2, status)
        self.assertIn('| Verdict   | refused', out)
        self.assertNotIn('["', out)

    def _do_test_bad_input(self, argv, words):
        status, out, err = self.run_command('check-request', *argv)
        self.assertNotEqual(0, status)
        self.assertEqual('', out)
        self.assertIn(words, err)

    def test_missing_file_fails(self):
        self._do_test_bad_input(['--flavor-json', '/nonexistent.json'],
                                'cannot read the flavor JSON')

    def test_broken_json_fails(self):
        self._do_test_bad_input(
            ['--image-json', self.write_file('i.json', '{"properties": ')],
            'is not valid JSON')

    def test_json_not_an_object_fails(self):
        self._do_test_bad_input(
            ['--image-json', self.write_file('i.json', '[1, 2]')],
            'is not an object')

    def test_invalid_image_property_fails(self):
        self._do_test_bad_input(['--image-property', 'hw_disk_bus=bogus'],
                                'image property hw_disk_bus=bogus is not '
                                'valid for Nova')

    def test_key_without_value_fails(self):
        self._do_test_bad_input(['--extra-spec', 'hw:mem_encryption'],
                                'expected KEY=VALUE')
