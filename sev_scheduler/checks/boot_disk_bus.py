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

"""Boot disk bus: an encrypted guest boots only from a virtio-capable bus.

Allowed: ``virtio``, ``scsi`` with ``hw_scsi_model=virtio-scsi``, and
``sata``. The bus is the boot volume's ``disk_bus`` in the block device
mapping when set, else the image's ``hw_disk_bus``; neither set means the
driver's default, virtio on x86.
"""

from nova.objects import fields

from sev_scheduler.checks import base

ALLOWED = (fields.DiskBus.VIRTIO, fields.DiskBus.SATA)
HINT = "use virtio, sata, or scsi with hw_scsi_model=virtio-scsi"


def boot_mapping_bus(mappings):
    """The disk_bus of the boot device in the mappings, or None."""
    for bdm in mappings:
        if bdm.obj_attr_is_set('boot_index') and bdm.boot_index == 0:
            return bdm.disk_bus if bdm.obj_attr_is_set('disk_bus') else None
    return None


class BootDiskBusCheck(base.RequestCheck):
    """Memory encryption needs a virtio, virtio-scsi or sata boot disk."""

    def conflicts(self, request):
        props = request.image_properties
        bus = boot_mapping_bus(request.block_device_mappings)
        source = 'block device mapping disk_bus'
        if bus is None:
            bus = props.get('hw_disk_bus')
            source = 'image property hw_disk_bus'
        if bus is None or bus in ALLOWED:
            return []
        if bus == fields.DiskBus.SCSI:
            model = props.get('hw_scsi_model')
            if model == fields.SCSIModel.VIRTIO_SCSI:
                return []
            return ["a scsi boot disk without hw_scsi_model=virtio-scsi "
                    "(image property hw_scsi_model is %s); %s" % (
                        "unset" if model is None else "'%s'" % model, HINT)]
        return ["boot disk bus '%s' (%s); %s" % (bus, source, HINT)]
