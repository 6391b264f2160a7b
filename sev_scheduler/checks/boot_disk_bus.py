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

"""Boot device bus: an encrypted guest boots only from an allowed bus.

Allowed: ``virtio``, ``scsi`` with ``hw_scsi_model=virtio-scsi``, and
``sata``. The boot device and its bus are the ones the libvirt driver will
give the guest (``sev_scheduler.buses``): the root disk or boot volume, or
the cdrom an ISO image boots from. Every other device is ``ide_devices``'s.
"""

from nova.objects import fields

from sev_scheduler import buses
from sev_scheduler.checks import base
from sev_scheduler.i18n import _

HINT = "use virtio, sata or virtio-scsi"


class BootDiskBusCheck(base.RequestCheck):
    """Memory encryption needs a virtio, virtio-scsi or sata boot device."""

    def conflicts(self, request):
        placement = buses.placement(request)
        if placement.error:
            return [_("disks the libvirt driver cannot place: %s")
                    % placement.error]
        props = request.image_properties
        device = placement.boot_device
        if device is None or buses.is_allowed(device, props):
            return []
        if device.bus == fields.DiskBus.SCSI:
            model = props.get('hw_scsi_model')
            return [_("boot %(type)s bus 'scsi' without "
                      "hw_scsi_model=virtio-scsi (hw_scsi_model is "
                      "%(model)s)") % {
                'type': device.device_type,
                'model': _("unset") if model is None else "'%s'" % model}]
        return [_("boot %(type)s bus '%(bus)s' (%(source)s); %(hint)s") % {
            'type': device.device_type, 'bus': device.bus,
            'source': device.source, 'hint': HINT}]
