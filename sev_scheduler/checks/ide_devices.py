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

"""IDE devices: an emulated IDE controller cannot reach encrypted memory.

It reads and writes guest memory directly, which SEV encrypts; virtio
devices go through the buffers the guest shares in the clear.

Refuses volumes attached on the IDE bus in the block device mapping, and
the image properties ``hw_disk_bus=ide`` and ``hw_cdrom_bus=ide``.
"""

from nova.objects import fields

from sev_scheduler.checks import base

IMAGE_PROPERTIES = ('hw_disk_bus', 'hw_cdrom_bus')


def _describe(bdm):
    for name in ('volume_id', 'snapshot_id', 'image_id', 'device_name'):
        if bdm.obj_attr_is_set(name) and getattr(bdm, name):
            return "%s %s" % (name.replace('_id', '').replace('_', ' '),
                              getattr(bdm, name))
    return 'a block device'


class IdeDevicesCheck(base.RequestCheck):
    """Memory encryption cannot be used with anything on the IDE bus."""

    def conflicts(self, request):
        conflicts = [
            "the IDE bus: image property %s=ide" % name
            for name in IMAGE_PROPERTIES
            if request.image_properties.get(name) == fields.DiskBus.IDE]
        for bdm in request.block_device_mappings:
            if (bdm.obj_attr_is_set('disk_bus') and
                    bdm.disk_bus == fields.DiskBus.IDE):
                conflicts.append(
                    "the IDE bus: %s (block device mapping disk_bus=ide)"
                    % _describe(bdm))
        return conflicts
