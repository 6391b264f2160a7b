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

from unittest import mock

from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import objects
from nova import test
from nova.virt.libvirt import blockinfo

from sev_scheduler import buses
from sev_scheduler.checks import boot_disk_bus
from sev_scheduler.checks import ide_devices
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories


def _request(bdms=(), flavor=None, move=False, **image_properties):
    fields = ({'requested_destination': objects.Destination(
        cell=objects.CellMapping(uuid=uuids.cell))} if move else {})
    spec_obj = factories.encrypted_spec(image_properties=image_properties,
                                        **fields)
    if flavor:
        spec_obj.flavor = flavor
    return sev_request.Request(
        spec_obj, block_device_mappings=objects.BlockDeviceMappingList(
            objects=list(bdms)),
        raw_image_properties=image_properties)


def _buses(placement):
    return [(device.name, device.device_type, device.bus, device.boot)
            for device in placement.devices if device.bdm is None]


class PlacementTestCase(test.NoDBTestCase):

    def test_image_boot_without_mappings_places_defaults(self):
        self.assertEqual(
            [('the root disk', 'disk', 'virtio', True),
             ('the config drive', 'cdrom', 'sata', False),
             ('volumes attached later', 'disk', 'virtio', False)],
            _buses(buses.placement(_request())))

    def test_iso_boots_from_cdrom_bus(self):
        request = _request(hw_cdrom_bus='usb')
        request.image.disk_format = 'iso'
        device = buses.placement(request).boot_device
        self.assertEqual(('cdrom', 'usb', 'image property hw_cdrom_bus'),
                         (device.device_type, device.bus, device.source))

    def test_flavor_disks_on_image_disk_bus(self):
        flavor = factories.flavor(factories.SEV_FLAVOR)
        flavor.ephemeral_gb = 1
        flavor.swap = 512
        placement = buses.placement(_request(flavor=flavor, hw_disk_bus='ide'))
        self.assertIn(("the flavor's ephemeral disk", 'disk', 'ide', False),
                      _buses(placement))
        self.assertIn(("the flavor's swap disk", 'disk', 'ide', False),
                      _buses(placement))

    def test_machine_type_of_encrypted_guest_used(self):
        # Nova's default x86 machine type, pc, would put a cdrom on IDE.
        self.flags(hw_machine_type=['x86_64=pc'], group='libvirt')
        placement = buses.placement(_request())
        self.assertIn(('the config drive', 'cdrom', 'sata', False),
                      _buses(placement))

    def test_volume_takes_mapping_bus(self):
        bdm = factories.volume_bdm(nova_context.get_admin_context(),
                                   uuids.instance, 'usb', None, uuids.data)
        device = next(device for device in
                      buses.placement(_request([bdm])).devices
                      if device.bdm is not None)
        self.assertEqual((bdm, 'usb', 'block device mapping disk_bus'),
                         (device.bdm, device.bus, device.source))

    def _named(self, bus, boot_index, device_name, volume_id):
        bdm = factories.volume_bdm(nova_context.get_admin_context(),
                                   uuids.instance, bus, boot_index, volume_id)
        bdm.device_name = device_name
        return bdm

    def _placed(self, request, bdm):
        device = next(device for device in buses.placement(request).devices
                      if device.bdm is bdm)
        return device.bus, device.source

    def _named_volume_request(self, move):
        volume = self._named(None, None, '/dev/hdb', uuids.data)
        return _request([self._named('virtio', 0, None, uuids.volume),
                         volume], move=move), volume

    def test_volume_device_name_on_new_server_ignored(self):
        # The compute of a new server drops the names its user gave.
        request, volume = self._named_volume_request(move=False)
        self.assertEqual(('virtio', 'the default'),
                         self._placed(request, volume))

    def test_volume_device_name_on_move_chooses_bus(self):
        # A move places the volume with the name the compute recorded.
        request, volume = self._named_volume_request(move=True)
        self.assertEqual(('ide', 'device name /dev/hdb'),
                         self._placed(request, volume))

    def test_root_device_name_on_new_server_kept(self):
        # The compute keeps the root's name as the instance's; blockinfo
        # reads a bus KVM lacks from it.
        root = self._named('xen', 0, '/dev/hda', uuids.volume)
        self.assertEqual(('ide', 'device name /dev/hda'),
                         self._placed(_request([root]), root))

    def test_root_without_name_on_new_server_named_from_image_bus(self):
        # The compute names the root 'sda' for the image's sata bus, and
        # blockinfo then reads 'sd' as scsi.
        root = self._named('xen', 0, None, uuids.volume)
        self.assertEqual(('scsi', 'device name /dev/sda'),
                         self._placed(_request([root], hw_disk_bus='sata'),
                                      root))

    def test_unplaceable_bus_is_an_error(self):
        placement = buses.placement(_request(hw_disk_bus='lxc'))
        self.assertEqual((), placement.devices)
        self.assertIn("'lxc'", placement.error)

    def test_placed_once_per_request(self):
        request = _request()
        with mock.patch.object(blockinfo, 'get_disk_info',
                               wraps=blockinfo.get_disk_info) as get:
            for check in (boot_disk_bus.BootDiskBusCheck(),
                          ide_devices.IdeDevicesCheck()):
                self.assertEqual([], check.conflicts(request))
        get.assert_called_once()
