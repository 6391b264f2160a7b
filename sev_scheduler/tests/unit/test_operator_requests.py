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

"""operators.requests: what the APIs show, read as SEVFilter reads it."""

from nova import test

from sev_scheduler.operators import requests

SEV_FLAVOR = {'hw:mem_encryption': 'true'}
UEFI = {'hw_firmware_type': 'uefi'}


class BuildTestCase(test.NoDBTestCase):

    def _refusals(self, **kwargs):
        return requests.refusals(requests.build(SEV_FLAVOR, UEFI, **kwargs))

    def test_encrypted_request_read_with_model_passes(self):
        request = requests.build(SEV_FLAVOR, UEFI)
        self.assertTrue(request.encryption.requested)
        self.assertEqual('amd-sev', request.encryption.model)
        self.assertEqual([], requests.refusals(request))

    def test_plain_request_with_ide_volume_passes(self):
        request = requests.build({}, {}, volumes=[('vol-a', 'ide')])
        self.assertFalse(request.encryption.requested)
        self.assertEqual([], requests.refusals(request))

    def test_ide_volume_named_fails(self):
        self.assertEqual(
            ['Memory encryption (amd-sev) cannot be used with the IDE bus: '
             'volume vol-a (block device mapping disk_bus=ide)'],
            self._refusals(volumes=[('vol-a', 'ide')]))

    def test_volume_bus_nova_picks_passes(self):
        self.assertEqual([], self._refusals(volumes=[('vol-a', None)]))

    def test_boot_volume_on_sata_passes(self):
        self.assertEqual([], self._refusals(boot_volume=('boot', 'sata')))

    def test_boot_volume_on_usb_fails(self):
        [reason] = self._refusals(boot_volume=('boot', 'usb'))
        self.assertIn('boot', reason)
        self.assertIn('usb', reason)

    def test_iso_image_boots_from_its_cdrom_fails(self):
        [reason] = requests.refusals(requests.build(
            SEV_FLAVOR, dict(UEFI, hw_cdrom_bus='usb'), disk_format='iso'))
        self.assertIn("boot cdrom bus 'usb'", reason)

    def test_sriov_port_fails(self):
        self.assertEqual(
            ['Memory encryption (amd-sev) cannot be used with PCI '
             'passthrough: SR-IOV port port-a'],
            self._refusals(ports=[('port-a', 'direct')]))

    def test_accelerator_port_fails(self):
        port = '6b7a3e0e-8f0c-4d5a-9f57-3f3c6bb1f0a1'
        self.assertEqual(
            ['Memory encryption (amd-sev) cannot be used with Cyborg '
             'accelerator: port %s' % port],
            self._refusals(ports=[(port, 'accelerator-direct')]))

    def test_normal_port_passes(self):
        self.assertEqual([], self._refusals(ports=[('port-a', 'normal')]))

    def test_bad_image_property_named(self):
        error = self.assertRaises(
            ValueError, requests.build, SEV_FLAVOR,
            dict(UEFI, hw_disk_bus='floppy-ish'))
        self.assertIn('hw_disk_bus=floppy-ish', str(error))


class ReadingTestCase(test.NoDBTestCase):
    """What the APIs show, as Nova reads it."""

    def test_image_properties_as_written(self):
        image = {'id': 'x', 'name': 'sev', 'disk_format': 'raw',
                 'container_format': 'bare', 'visibility': 'public',
                 'min_ram': 0, 'os_hash_algo': 'sha512', 'tags': [],
                 'hw_mem_encryption': 'True', 'hw_cdrom_bus': 'ide'}
        self.assertEqual({'hw_mem_encryption': 'True',
                          'hw_cdrom_bus': 'ide'},
                         requests.image_properties(image))

    def test_no_image_no_properties(self):
        self.assertEqual({}, requests.image_properties(None))

    def test_device_names_tell_bus(self):
        # 'sd' is SCSI, SATA or USB alike: the bus Nova picks.
        self.assertEqual(
            ['virtio', 'ide', 'fdc', None, None, None],
            [requests.volume_bus(name) for name in (
                '/dev/vdb', 'hdb', '/dev/fda', '/dev/sdb', None,
                '/dev/xyz')])
