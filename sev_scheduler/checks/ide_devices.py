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

"""Device buses: every other disk, cdrom and floppy on an allowed bus.

The boot device is ``boot_disk_bus``'s; this check judges the rest, on the
bus the libvirt driver will give them (``sev_scheduler.buses``): volumes,
ephemeral and swap disks, floppies, the config drive (a cdrom on the image's
cdrom bus, which a compute can force) and the volumes attached later (on the
image's disk bus). Allowed: ``virtio``, ``scsi`` with
``hw_scsi_model=virtio-scsi``, and ``sata``. It keeps the name of the check
it grew from, which refused the IDE bus only.
"""

from nova.objects import fields

from sev_scheduler import buses
from sev_scheduler.checks import base

#: The image's buses for every device of their type, named once.
IMAGE_WIDE = ('image property hw_disk_bus', 'image property hw_cdrom_bus')


def _describe(device):
    bdm = device.bdm
    if bdm is None:
        return device.name
    if bdm.obj_attr_is_set('source_type') and bdm.source_type == 'blank':
        what = ('a swap disk' if bdm.obj_attr_is_set('guest_format') and
                bdm.guest_format == 'swap' else 'an ephemeral disk')
    else:
        what = 'a block device'
        for name in ('volume_id', 'snapshot_id', 'image_id', 'device_name'):
            if bdm.obj_attr_is_set(name) and getattr(bdm, name):
                what = "%s %s" % (name.replace('_id', '').replace('_', ' '),
                                  getattr(bdm, name))
                break
    if device.device_type == fields.BlockDeviceType.DISK:
        return what
    return '%s %s' % (device.device_type, what)


def _phrase(device):
    bus = "the %s bus" % device.bus.upper()
    if device.bus == fields.DiskBus.SCSI:
        bus += " without hw_scsi_model=virtio-scsi"
    source = ("%s=%s" % (device.source, device.bus)
              if device.source_is_setting else device.source)
    if device.source in IMAGE_WIDE:
        return "%s: %s" % (bus, source)
    return "%s: %s (%s)" % (bus, _describe(device), source)


class IdeDevicesCheck(base.RequestCheck):
    """Memory encryption needs virtio, virtio-scsi or sata devices."""

    def conflicts(self, request):
        props = request.image_properties
        phrases = (_phrase(device)
                   for device in buses.placement(request).devices
                   if not device.boot and not buses.is_allowed(device, props))
        # One phrase per cause: the image's bus covers all its devices.
        return list(dict.fromkeys(phrases))
