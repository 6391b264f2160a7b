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

from oslo_serialization import jsonutils

from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base as libvirt_base

from sev_scheduler import compat
from sev_scheduler.tests.functional import base


class RefusalTestCase(base.SEVTestBase):
    """Requests that can never work end in ERROR with the reason."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=4)
        self.start_host('plain1')

    def test_non_virtio_boot_disk_refused(self):
        self.create_image('sev_usb', dict(base.SEV_IMAGE, hw_disk_bus='usb'))
        server = self.boot(image='sev_usb', expected_state='ERROR')
        self.assert_refused(server, "Memory encryption (amd-sev) cannot be "
                            "used with boot disk bus 'usb'")

    def test_ide_cdrom_refused(self):
        self.create_image('sev_cdrom', dict(base.SEV_IMAGE,
                                            hw_cdrom_bus='ide'))
        server = self.boot(image='sev_cdrom', expected_state='ERROR')
        self.assert_refused(server, "hw_cdrom_bus=ide")

    def test_ide_cdrom_check_disabled_boots(self):
        # The refusal above is the ide_devices check's, and only its.
        self.flags(checks=['pci_passthrough', 'mdev_vgpu', 'boot_disk_bus'],
                   group='sev_scheduler')
        self.restart_scheduler()
        self.create_image('sev_cdrom', dict(base.SEV_IMAGE,
                                            hw_cdrom_bus='ide'))
        server = self.boot(image='sev_cdrom')
        self.assertEqual('sev1', self.host_of(server))

    def test_ide_volume_refused(self):
        server = self.boot_with_volume('ide')
        self.assert_refused(server, "the IDE bus: volume",
                            "(block device mapping disk_bus=ide)")

    def test_virtio_volume_boots(self):
        server = self.boot_with_volume('virtio', expected_state='ACTIVE')
        self.assertEqual('sev1', self.host_of(server))

    def test_malformed_flavor_value_refused(self):
        self.create_flavor('maybe', {'hw:mem_encryption': 'maybe'})
        # Nova alone reads 'maybe' as "no" and boots it unencrypted.
        server = self.boot(flavor='maybe', expected_state='ERROR')
        self.assert_refused(server, "Invalid memory encryption request",
                            "'maybe', which is neither true nor false")

    def test_model_without_switch_refused(self):
        self.create_flavor('model_only',
                           {'hw:mem_encryption_model': 'amd-sev'})
        server = self.boot(flavor='model_only', image='plain',
                           expected_state='ERROR')
        self.assert_refused(server, "memory encryption is not enabled")


class RebuildTestCase(base.SEVTestBase):
    """Rebuild cannot add memory encryption, but keeps it."""

    # The API casts a rebuild to the conductor: the refusal must reach the
    # user as the server's fault, not as an API error.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)

    def test_rebuild_adding_encryption_refused_keeps_image(self):
        server = self.boot()
        self.api.post_server_action(
            server['id'], {'rebuild': {'imageRef': self.images['sev']}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn("holds no amd-sev encryption slot",
                      self.fault_of(server))
        self.assertEqual(self.images['plain'],
                         self.api.get_server(server['id'])['image']['id'])
        self.assertEqual(0, self.slots_used('sev1'))

    def test_rebuild_encrypted_with_own_image_works(self):
        server = self.boot(image='sev')
        server = self._rebuild_server(server, self.images['sev'])
        self.assertEqual('sev1', self.host_of(server))
        self.assertEqual(1, self.slots_used('sev1'))

    def test_rebuild_encrypted_with_other_image_of_model_works(self):
        # A new image goes through the scheduler, and SEVFilter, again.
        self.create_image('sev_other', base.SEV_IMAGE)
        server = self.boot(image='sev')
        server = self._rebuild_server(server, self.images['sev_other'])
        self.assertEqual(self.images['sev_other'],
                         self.api.get_server(server['id'])['image']['id'])
        self.assertEqual(1, self.slots_used('sev1'))

    @base.needs_model(compat.AMD_SEV_ES)
    def test_rebuild_changing_model_refused(self):
        self.start_host('sev_es', slots=2, es_slots=2)
        server = self.boot(image='sev', host='sev_es')
        self.api.post_server_action(
            server['id'], {'rebuild': {'imageRef': self.images['sev_es']}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn("holds no amd-sev-es encryption slot",
                      self.fault_of(server))


class DevicesTestCase(base.SEVTestBase):
    """Devices on SEV hosts that have them: only SEVFilter refuses."""

    def setUp(self):
        self.configure_devices()
        super().setUp()
        self.start_host('sev_devices', slots=2, pci_info=self.with_devices())
        self.create_flavor('sev_gpu', {'hw:mem_encryption': 'true',
                                       'pci_passthrough:alias': 'gpu:1'})
        self.create_flavor('sev_vgpu', {'hw:mem_encryption': 'true',
                                        'resources:VGPU': '1'})

    def test_pci_alias_refused(self):
        server = self.boot(flavor='sev_gpu', image='sev',
                           expected_state='ERROR')
        self.assertEqual(
            "No valid host was found. Memory encryption (amd-sev) cannot be "
            "used with PCI passthrough: flavor alias 'gpu'",
            self.fault_of(server))

    def test_pci_alias_check_disabled_boots(self):
        # The host does have the device: the refusal is pci_passthrough's.
        self.flags(checks=['mdev_vgpu', 'boot_disk_bus', 'ide_devices'],
                   group='sev_scheduler')
        self.restart_scheduler()
        server = self.boot(flavor='sev_gpu', image='sev')
        self.assertEqual('sev_devices', self.host_of(server))

    def test_vgpu_refused(self):
        server = self.boot(flavor='sev_vgpu', image='sev',
                           expected_state='ERROR')
        self.assert_refused(server, "mdev vGPU: flavor extra spec "
                            "resources:VGPU=1")


class SriovPortTestCase(base.SEVTestBase):
    """An SR-IOV port on an SEV host with free VFs: only SEVFilter refuses."""

    def setUp(self):
        self.flags(group='pci', device_spec=[jsonutils.dumps(
            {'vendor_id': fakelibvirt.PCI_VEND_ID, 'product_id': product,
             'physical_network': 'physnet4'})
            for product in (fakelibvirt.PF_PROD_ID, fakelibvirt.VF_PROD_ID)])
        super().setUp()
        self.neutron = self.useFixture(
            libvirt_base.LibvirtNeutronFixture(self))
        self.start_host('sev_sriov', slots=2, pci_info=(
            fakelibvirt.HostPCIDevicesInfo(num_pfs=1, num_vfs=2)))
        self.port = self.neutron.network_4_port_1['id']
        self.neutron.create_port({'port': self.neutron.network_4_port_1})

    def _boot_with_port(self, image, expected_state):
        body = self._build_server(image_uuid=self.images[image],
                                  flavor_id=self.flavors['plain'],
                                  networks=[{'port': self.port}])
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected_state)

    def test_sriov_port_refused(self):
        server = self._boot_with_port('sev', 'ERROR')
        self.assert_refused(server, "PCI passthrough: SR-IOV port %s"
                            % self.port)

    def test_sriov_port_plain_boots(self):
        server = self._boot_with_port('plain', 'ACTIVE')
        self.assertEqual('sev_sriov', self.host_of(server))
