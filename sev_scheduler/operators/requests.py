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

"""A request as SEVFilter reads it, from what the APIs show of it.

Operator commands see a flavor's extra specs, an image's properties as
written, the buses of volumes and the vnic types of ports; the scheduler
sees a RequestSpec. This builds the RequestSpec Nova would build from them
and judges it with the filter's own request-level code (``verdict`` and
the enabled checks), so that ``check-request``, ``explain`` and ``audit``
never restate a rule.
"""

from oslo_utils import uuidutils

from nova.accelerator import cyborg
from nova.network import model as network_model
from nova import objects

from sev_scheduler import checks
from sev_scheduler import conf
from sev_scheduler import request as sev_request
from sev_scheduler import verdict


def _image_meta(name, properties):
    """ImageMeta as Nova reads the properties; ValueError names a bad one."""
    try:
        return objects.ImageMeta.from_dict(
            {'name': name, 'properties': properties})
    except ValueError:
        for key, value in sorted(properties.items()):
            try:
                objects.ImageMetaProps.from_dict({key: value})
            except ValueError as error:
                raise ValueError('image property %s=%s is not valid for '
                                 'Nova: %s' % (key, value, error))
        raise


def _volume(volume_id, disk_bus, boot_index):
    return objects.BlockDeviceMapping(
        source_type='volume', destination_type='volume', device_type='disk',
        volume_id=volume_id or uuidutils.generate_uuid(), disk_bus=disk_bus,
        boot_index=boot_index)


def _port_requests(ports):
    """(PCI requests, request groups) Nova makes for these ports."""
    pci_requests, groups = [], []
    for port, vnic_type in ports:
        port = port or uuidutils.generate_uuid()
        if vnic_type in network_model.VNIC_TYPES_ACCELERATOR:
            groups.append(objects.RequestGroup(
                requester_id=cyborg.get_device_profile_group_requester_id(
                    0, port)))
        elif vnic_type in network_model.VNIC_TYPES_SRIOV:
            pci_requests.append(objects.InstancePCIRequest(
                count=1, spec=[{}], requester_id=port,
                request_id=uuidutils.generate_uuid()))
    return pci_requests, groups


def build(extra_specs, image_properties, flavor_name='flavor',
          image_name='image', volumes=(), boot_volume=None, ports=(),
          pci_requests=None):
    """A ``request.Request`` for a new server, read as SEVFilter reads it.

    :param volumes: (volume ID, ``disk_bus``) of each volume besides the
        boot disk; a None bus is the one Nova picks, a None ID made up.
    :param boot_volume: (volume ID, ``disk_bus``) of the boot volume when
        the server boots from a volume; by default it boots from the image.
    :param ports: (port ID, vnic_type) of each port.
    :param pci_requests: InstancePCIRequests Nova already made, when known
        (they replace those made for ports).
    :raises ValueError: when an image property is not valid for Nova.
    """
    objects.register_all()
    mappings = [_volume(volume_id, bus, -1) for volume_id, bus in volumes]
    if boot_volume is not None:
        mappings.insert(0, _volume(*boot_volume, boot_index=0))
    port_pci, groups = _port_requests(ports)
    spec_obj = objects.RequestSpec(
        flavor=objects.Flavor(name=flavor_name,
                              extra_specs=dict(extra_specs)),
        image=_image_meta(image_name, dict(image_properties)),
        pci_requests=objects.InstancePCIRequests(
            requests=port_pci if pci_requests is None else pci_requests),
        requested_resources=groups,
        scheduler_hints={})
    return sev_request.Request(
        spec_obj,
        block_device_mappings=objects.BlockDeviceMappingList(
            objects=mappings),
        raw_image_properties=dict(image_properties))


def refusals(request):
    """Why SEVFilter refuses the request on every host; [] when it does not.

    Read with the ``[sev_scheduler]`` checks of this process's
    configuration.
    """
    reasons = (verdict.invalid_reason(request),
               verdict.conflict_reason(
                   request, checks.load(conf.CONF.sev_scheduler.checks)))
    return [reason for reason in reasons if reason]
