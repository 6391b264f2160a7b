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

from glanceclient.v2 import image_schema
from glanceclient.v2 import schemas
from oslo_utils import uuidutils

from nova.accelerator import cyborg
from nova import block_device
from nova import exception
from nova.network import model as network_model
from nova import objects
from nova.pci import request as pci_request
from nova.virt.libvirt import blockinfo

from sev_scheduler import checks
from sev_scheduler.checks import pci_passthrough
from sev_scheduler import conf
from sev_scheduler import request as sev_request
from sev_scheduler import verdict

# Glance's core image attributes, as glanceclient tells them from
# properties when it has no schema from the server.
_IMAGE_SCHEMA = schemas.Schema(image_schema._BASE_SCHEMA)


def image_properties(image):
    """An image's properties as written, from Glance v2's image (or None)."""
    return {name: value for name, value in (image or {}).items()
            if not _IMAGE_SCHEMA.is_base_property(name)}


def volume_bus(device):
    """The bus a volume's device name tells ('/dev/hdb': 'ide'), or None.

    What libvirt's driver reads from a name, except 'sd' names, which are
    SCSI, SATA or USB alike: those are left to the bus Nova picks.
    """
    dev = block_device.strip_dev(device or '')
    if not dev or dev.startswith('sd'):
        return None
    try:
        return blockinfo.get_disk_bus_for_disk_dev('kvm', dev)
    except exception.InternalError:
        return None


def _image_meta(name, properties, disk_format=None):
    """ImageMeta as Nova reads the properties; ValueError names a bad one."""
    image = {'name': name, 'properties': properties}
    if disk_format:
        # An ISO image boots from a cdrom, whose bus the checks judge.
        image['disk_format'] = disk_format
    try:
        return objects.ImageMeta.from_dict(image)
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


def _flavor_pci_requests(flavor):
    """The PCI requests Nova makes of a flavor's aliases.

    With this process's ``[pci] alias`` (the scheduler's, see
    ``conf.use_scheduler_conf``). None when Nova cannot make them (an
    alias not defined there, a malformed value): the ``pci_passthrough``
    check then judges the flavor key alone.
    """
    try:
        return pci_request.get_pci_requests_from_flavor(flavor).requests
    except (exception.PciRequestAliasNotDefined, exception.PciInvalidAlias,
            ValueError):
        return []


def build(extra_specs, image_properties, flavor_name='flavor',
          image_name='image', volumes=(), boot_volume=None, ports=(),
          pci_requests=None, disk_format=None):
    """A ``request.Request`` for a new server, read as SEVFilter reads it.

    :param volumes: (volume ID, ``disk_bus``) of each volume besides the
        boot disk; a None bus is the one Nova picks, a None ID made up.
    :param boot_volume: (volume ID, ``disk_bus``) of the boot volume when
        the server boots from a volume; by default it boots from the image.
    :param ports: (port ID, vnic_type) of each port.
    :param pci_requests: InstancePCIRequests Nova already made, when known
        (they replace those made for the flavor's aliases and the ports).
    :param disk_format: the image's disk format, as Glance shows it.
    :raises ValueError: when an image property is not valid for Nova.
    """
    objects.register_all()
    mappings = [_volume(volume_id, bus, -1) for volume_id, bus in volumes]
    if boot_volume is not None:
        mappings.insert(0, _volume(*boot_volume, boot_index=0))
    port_pci, groups = _port_requests(ports)
    flavor = objects.Flavor(name=flavor_name, extra_specs=dict(extra_specs))
    if pci_requests is None:
        pci_requests = _flavor_pci_requests(flavor) + port_pci
    spec_obj = objects.RequestSpec(
        flavor=flavor,
        image=_image_meta(image_name, dict(image_properties), disk_format),
        pci_requests=objects.InstancePCIRequests(requests=pci_requests),
        requested_resources=groups,
        scheduler_hints={})
    # As Nova's RequestSpec.from_components: with PCI in Placement, a
    # group per device, which Nova's Placement query asks for.
    spec_obj.generate_request_groups_from_pci_requests()
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


def pci_groups(request):
    """[(alias, RequestGroup)]: what Nova asks Placement per PCI device.

    With PCI in Placement, a group per device of each flavor alias
    (``RequestSpec.generate_request_groups_from_pci_requests``, whose
    requester IDs are "<PCI request ID>-<index>"); [] without.
    """
    aliases = {pci_request.request_id: pci_request.alias_name
               for pci_request in request.pci_requests
               if pci_request.alias_name}
    return [(aliases[group.requester_id.rpartition('-')[0]], group)
            for group in request.spec.requested_resources
            if (group.requester_id or '').rpartition('-')[0] in aliases]


#: What the output says of a flavor alias SEVFilter lets through.
CONFIDENTIAL_DEVICE = 'allowed: confidential device'


def device_verdicts(request):
    """What SEVFilter says of each PCI alias of an encrypted request.

    ``"flavor alias 'cc-gpu': allowed: confidential device"``, or the
    refusal's own words; [] without encryption or aliases.
    """
    if not request.encryption.requested:
        return []
    if 'pci_passthrough' not in conf.CONF.sev_scheduler.checks:
        return ["flavor alias '%s': not checked (pci_passthrough is not in "
                "[sev_scheduler] checks)" % alias for alias
                in pci_passthrough.flavor_aliases(request.extra_specs)]
    return [conflict or "flavor alias '%s': %s" % (
        alias, CONFIDENTIAL_DEVICE)
        for alias, conflict in pci_passthrough.alias_verdicts(request)]
