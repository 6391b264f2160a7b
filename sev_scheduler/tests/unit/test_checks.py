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

from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import objects
from nova import test

from sev_scheduler.checks import boot_disk_bus
from sev_scheduler.checks import ide_devices
from sev_scheduler.checks import mdev_vgpu
from sev_scheduler.checks import pci_passthrough
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories


def _request(bdms=(), **kwargs):
    # The lookups themselves are tested in test_block_devices and
    # test_raw_image.
    spec_obj = factories.encrypted_spec(**kwargs)
    return sev_request.Request(
        spec_obj,
        block_device_mappings=objects.BlockDeviceMappingList(
            objects=list(bdms)),
        raw_image_properties=kwargs.get('image_properties') or {})


def _bdm(disk_bus, boot_index=0, volume_id=uuids.volume):
    return factories.volume_bdm(nova_context.get_admin_context(),
                                uuids.instance, disk_bus, boot_index,
                                volume_id)


class PciPassthroughCheckTestCase(test.NoDBTestCase):

    check = pci_passthrough.PciPassthroughCheck()

    def test_no_pci_passes(self):
        self.assertEqual([], self.check.conflicts(_request()))

    def test_flavor_alias_without_definition_fails(self):
        request = _request(extra_specs={
            'pci_passthrough:alias': 'gpu:2, nic:1'})
        self.assertEqual(["PCI passthrough: flavor alias 'gpu'",
                          "PCI passthrough: flavor alias 'nic'"],
                         self.check.conflicts(request))

    def test_alias_request_named_once_fails(self):
        pci_request = objects.InstancePCIRequest(
            count=1, spec=[{}], alias_name='gpu')
        request = _request(extra_specs={'pci_passthrough:alias': 'gpu:1'},
                           pci_requests=[pci_request])
        self.assertEqual(["PCI passthrough: flavor alias 'gpu'"],
                         self.check.conflicts(request))

    def test_sriov_port_fails(self):
        pci_request = objects.InstancePCIRequest(
            count=1, spec=[{}], alias_name=None, requester_id=uuids.port)
        self.assertEqual(["PCI passthrough: SR-IOV port %s" % uuids.port],
                         self.check.conflicts(
                             _request(pci_requests=[pci_request])))

    def test_malformed_alias_value_fails(self):
        request = _request(extra_specs={'pci_passthrough:alias': ':'})
        self.assertEqual(["PCI passthrough: flavor alias ':'"],
                         self.check.conflicts(request))


class MdevVgpuCheckTestCase(test.NoDBTestCase):

    check = mdev_vgpu.MdevVgpuCheck()

    def _do_test(self, extra_specs, expected):
        self.assertEqual(expected, self.check.conflicts(
            _request(extra_specs=extra_specs)))

    def test_no_vgpu_passes(self):
        self._do_test({'resources:VCPU': '2', 'trait:CUSTOM_X': 'required'},
                      [])

    def test_zero_vgpu_passes(self):
        self._do_test({'resources:VGPU': '0'}, [])

    def test_vgpu_in_any_group_fails(self):
        self._do_test({'resources:VGPU': '1', 'resources_gpu:VGPU': '2'},
                      ["mdev vGPU: flavor extra spec resources:VGPU=1",
                       "mdev vGPU: flavor extra spec resources_gpu:VGPU=2"])

    def test_unreadable_amount_fails(self):
        self._do_test({'resources1:VGPU': 'one'},
                      ["mdev vGPU: flavor extra spec resources1:VGPU=one"])


def _iso_request(bdms=(), **image_properties):
    request = _request(bdms, image_properties=image_properties)
    request.image.disk_format = 'iso'
    return request


def _floppy():
    bdm = _bdm(None, None, uuids.floppy)
    bdm.device_type = 'floppy'
    return bdm


class BootDiskBusCheckTestCase(test.NoDBTestCase):

    check = boot_disk_bus.BootDiskBusCheck()

    def _conflicts(self, bdms=(), **image_properties):
        return self.check.conflicts(
            _request(bdms, image_properties=image_properties))

    def test_default_bus_passes(self):
        self.assertEqual([], self._conflicts())

    def test_allowed_buses_passes(self):
        self.assertEqual([], self._conflicts(hw_disk_bus='virtio'))
        self.assertEqual([], self._conflicts(hw_disk_bus='sata'))
        self.assertEqual([], self._conflicts(hw_disk_bus='scsi',
                                             hw_scsi_model='virtio-scsi'))

    def test_scsi_without_virtio_scsi_fails(self):
        self.assertEqual(
            ["boot disk bus 'scsi' without hw_scsi_model=virtio-scsi "
             "(hw_scsi_model is 'lsilogic')"],
            self._conflicts(hw_disk_bus='scsi', hw_scsi_model='lsilogic'))
        self.assertIn("is unset", self._conflicts(hw_disk_bus='scsi')[0])

    def test_other_image_bus_fails(self):
        for bus in ('usb', 'ide', 'fdc'):
            self.assertEqual(
                ["boot disk bus '%s' (image property hw_disk_bus); use "
                 "virtio, sata or virtio-scsi" % bus],
                self._conflicts(hw_disk_bus=bus))

    def test_bus_kvm_does_not_have_fails(self):
        # The libvirt driver would fail to spawn the guest.
        self.assertEqual(
            ["disks the libvirt driver cannot place: Requested hardware "
             "'xen' is not supported by the 'kvm' virt driver"],
            self._conflicts(hw_disk_bus='xen'))

    def test_boot_volume_bus_wins_over_image_fails(self):
        self.assertEqual(
            ["boot disk bus 'usb' (block device mapping disk_bus); use "
             "virtio, sata or virtio-scsi"],
            self._conflicts([_bdm('usb')], hw_disk_bus='virtio'))

    def test_boot_volume_virtio_passes(self):
        self.assertEqual([], self._conflicts([_bdm('virtio'),
                                              _bdm('usb', None)]))

    def test_iso_on_default_cdrom_passes(self):
        # A q35 guest's cdrom is on sata.
        self.assertEqual([], self.check.conflicts(_iso_request()))

    def test_iso_on_usb_cdrom_fails(self):
        self.assertEqual(
            ["boot cdrom bus 'usb' (image property hw_cdrom_bus); use "
             "virtio, sata or virtio-scsi"],
            self.check.conflicts(_iso_request(hw_cdrom_bus='usb',
                                              hw_disk_bus='virtio')))

    def test_iso_on_scsi_cdrom_without_virtio_scsi_fails(self):
        self.assertEqual(
            ["boot cdrom bus 'scsi' without hw_scsi_model=virtio-scsi "
             "(hw_scsi_model is unset)"],
            self.check.conflicts(_iso_request(hw_cdrom_bus='scsi')))

    def test_iso_on_virtio_scsi_cdrom_passes(self):
        self.assertEqual([], self.check.conflicts(_iso_request(
            hw_cdrom_bus='scsi', hw_scsi_model='virtio-scsi')))

    def test_iso_boot_volume_on_cdrom_bus_fails(self):
        # The driver puts an ISO's root on the cdrom bus, whatever the
        # mapping says.
        self.assertIn("boot cdrom bus 'usb' (image property hw_cdrom_bus)",
                      self.check.conflicts(_iso_request(
                          [_bdm('virtio')], hw_cdrom_bus='usb'))[0])


class IdeDevicesCheckTestCase(test.NoDBTestCase):

    check = ide_devices.IdeDevicesCheck()

    def test_allowed_buses_pass(self):
        self.assertEqual([], self.check.conflicts(
            _request([_bdm('virtio'), _bdm('sata', None, uuids.data)],
                     image_properties={
                         'hw_cdrom_bus': 'sata', 'hw_disk_bus': 'scsi',
                         'hw_scsi_model': 'virtio-scsi'})))

    def test_image_properties_fails(self):
        self.assertEqual(
            ["the IDE bus: image property hw_cdrom_bus=ide",
             "the IDE bus: image property hw_disk_bus=ide"],
            self.check.conflicts(_request(image_properties={
                'hw_disk_bus': 'ide', 'hw_cdrom_bus': 'ide'})))

    def test_image_scsi_without_virtio_scsi_fails(self):
        # Volumes attached later go on the image's disk bus.
        self.assertEqual(
            ["the SCSI bus without hw_scsi_model=virtio-scsi: image "
             "property hw_disk_bus=scsi"],
            self.check.conflicts(_request(image_properties={
                'hw_disk_bus': 'scsi'})))

    def test_ide_volume_anywhere_fails(self):
        request = _request([_bdm('virtio'), _bdm('ide', 1, uuids.data)])
        self.assertEqual(
            ["the IDE bus: volume %s (block device mapping disk_bus=ide)"
             % uuids.data], self.check.conflicts(request))

    def _named_volume_request(self, **kwargs):
        bdm = _bdm(None, None, uuids.data)
        bdm.device_name = '/dev/hdb'
        return _request([_bdm('virtio'), bdm], **kwargs)

    def test_volume_device_name_on_move_fails(self):
        # Without a disk_bus, the driver reads the bus from the name the
        # compute recorded.
        request = self._named_volume_request(
            requested_destination=objects.Destination(
                cell=objects.CellMapping(uuid=uuids.cell)))
        self.assertEqual(
            ["the IDE bus: volume %s (device name /dev/hdb)" % uuids.data],
            self.check.conflicts(request))

    def test_volume_device_name_on_new_server_passes(self):
        # A new server's compute drops the names its user gave.
        self.assertEqual([], self.check.conflicts(
            self._named_volume_request()))

    def test_usb_cdrom_volume_fails(self):
        bdm = _bdm('usb', None, uuids.data)
        bdm.device_type = 'cdrom'
        self.assertEqual(
            ["the USB bus: cdrom volume %s (block device mapping "
             "disk_bus=usb)" % uuids.data],
            self.check.conflicts(_request([_bdm('virtio'), bdm])))

    def test_floppy_volume_on_image_floppy_bus_fails(self):
        request = _request([_bdm('virtio'), _floppy()],
                           image_properties={'hw_floppy_bus': 'ide'})
        self.assertEqual(
            ["the IDE bus: floppy volume %s (image property "
             "hw_floppy_bus=ide)" % uuids.floppy],
            self.check.conflicts(request))

    def test_floppy_volume_on_default_bus_fails(self):
        self.assertEqual(
            ["the FDC bus: floppy volume %s (the default)" % uuids.floppy],
            self.check.conflicts(_request([_bdm('virtio'), _floppy()])))

    def test_usb_ephemeral_disk_fails(self):
        ephemeral = objects.BlockDeviceMapping(
            context=nova_context.get_admin_context(),
            instance_uuid=uuids.instance, source_type='blank',
            destination_type='local', boot_index=-1, volume_size=1,
            disk_bus='usb')
        self.assertEqual(
            ["the USB bus: an ephemeral disk (block device mapping "
             "disk_bus=usb)"],
            self.check.conflicts(_request([_bdm('virtio'), ephemeral])))

    def test_boot_device_not_judged_passes(self):
        # The boot disk is boot_disk_bus's.
        self.assertEqual([], self.check.conflicts(
            _request([_bdm('usb')])))
