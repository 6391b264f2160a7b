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

"""The bus each disk, cdrom and floppy of a request will be on.

Asked of ``nova.virt.libvirt.blockinfo``, the code the libvirt driver places
them with, from the request's image and block device mappings, for the only
guest memory encryption runs as: KVM, x86_64, a q35 machine type (Nova
refuses an encrypted guest any other). An ISO image boots from a cdrom on
the image's cdrom bus; a volume takes its mapping's ``disk_bus``, else the
bus of its device name, else the image's bus for its device type
(``hw_disk_bus``, ``hw_cdrom_bus``, ``hw_floppy_bus``), else the default.

Which device names count depends on the path. A new server's compute drops
every name its user gave before it places the devices
(``LibvirtDriver.default_device_names_for_instance``: libvirt cannot honour
them) and keeps only the root disk's, as the instance's root device name.
On every other path (rebuild, resize, migration, evacuation, unshelve) it
places them with the names it recorded.

Besides the mappings, the guest is always given the devices a compute may
add on its own: a config drive (forced by its ``force_config_drive``) on the
image's cdrom bus, and the flavor's ephemeral and swap disks and the volumes
attached later on the image's disk bus. These modules are the same in every
supported Nova release: there is nothing to bridge in ``compat``.
"""

import dataclasses
import weakref

from oslo_utils import uuidutils

from nova import block_device
from nova import exception
from nova import objects
from nova.objects import fields
from nova.virt import driver
from nova.virt.libvirt import blockinfo

from sev_scheduler import compat

VIRT_TYPE = 'kvm'
ARCH = fields.Architecture.X86_64
MACHINE_TYPE = 'q35'

#: What a compute adds without a mapping, by blockinfo's mapping key.
_DEFAULT_DEVICES = {
    'disk': 'the root disk',
    'disk.local': "the flavor's ephemeral disk",
    'disk.swap': "the flavor's swap disk",
    'disk.config': 'the config drive',
}


@dataclasses.dataclass(frozen=True)
class Device:
    """A disk, cdrom or floppy, on the bus the libvirt driver gives it."""

    #: 'disk', 'cdrom', 'floppy' or 'lun'.
    device_type: str
    bus: str
    #: The block device mapping it comes from, None for a default device.
    bdm: objects.BlockDeviceMapping | None
    #: What a default device is, e.g. 'the config drive'.
    name: str | None
    #: What chose the bus: 'block device mapping disk_bus', 'image
    #: property hw_cdrom_bus', 'device name /dev/hdb', 'the default'.
    source: str
    #: Whether ``source`` is a setting whose value is the bus.
    source_is_setting: bool
    boot: bool


@dataclasses.dataclass(frozen=True)
class Placement:
    """Every device of a request's guest, or why they cannot be placed."""

    devices: tuple = ()
    #: Why the libvirt driver would fail to place them, e.g. a bus KVM
    #: does not have.
    error: str | None = None

    @property
    def boot_device(self):
        return next((device for device in self.devices if device.boot), None)


def _guest_image(image_meta):
    """The request's image as the libvirt driver sees an encrypted guest."""
    image = image_meta.obj_clone()
    image.properties.hw_architecture = ARCH
    if image.properties.get('hw_machine_type') is None:
        image.properties.hw_machine_type = MACHINE_TYPE
    return image


def _guest_instance(flavor):
    """What blockinfo reads of the instance; it always has a config drive."""
    sizes = {name: getattr(flavor, name) if flavor.obj_attr_is_set(name)
             else 0 for name in ('ephemeral_gb', 'swap')}
    return objects.Instance(
        flavor=objects.Flavor(**sizes), ephemeral_gb=sizes['ephemeral_gb'],
        config_drive='True', root_device_name=None, launched_at=None,
        image_ref='', system_metadata={})


def _driver_copy(bdm, key):
    """A full copy of a mapping, as the driver reads one from the database.

    ``key`` is set as its uuid to find the original again.
    """
    bdm = bdm.obj_clone()
    bdm.obj_set_defaults()
    for name, field in bdm.fields.items():
        if (not bdm.obj_attr_is_set(name) and field.nullable and
                name != 'instance'):
            setattr(bdm, name, None)
    bdm.uuid = key
    return bdm


def _as_new_server(instance, image, copies, root_device_name):
    """Name the devices as a new server's compute does before placing them.

    ``ComputeManager._default_block_device_names`` and
    ``LibvirtDriver.default_device_names_for_instance``, the same in every
    supported release: the root disk's name (the root mapping's, else the
    one the API gave the instance, else one from its bus) becomes the
    instance's root device name; every mapping's name is dropped.
    """
    root = block_device.get_root_bdm(copies)
    if root is None:
        return  # The compute names nothing.
    if root.device_name or root_device_name:
        instance.root_device_name = root.device_name or root_device_name
    else:
        # LibvirtDriver.default_root_device_name
        disk_bus, cdrom_bus = (
            blockinfo.get_disk_bus_for_device_type(
                instance, VIRT_TYPE, image, device_type)
            for device_type in ('disk', 'cdrom'))
        instance.root_device_name = block_device.prepend_dev(
            blockinfo.get_root_info(instance, VIRT_TYPE, image, root,
                                    disk_bus, cdrom_bus)['dev'])
    for bdm in copies:
        bdm.device_name = None


def _field(bdm, name):
    return getattr(bdm, name) if bdm.obj_attr_is_set(name) else None


def _source(device_type, bus, bdm, name, properties):
    """What chose a device's bus, and whether it is a setting of it.

    :param name: the device name blockinfo was given for it.
    """
    if bdm is not None:
        if _field(bdm, 'disk_bus') == bus:
            return 'block device mapping disk_bus', True
        try:
            if name and bus == blockinfo.get_disk_bus_for_disk_dev(
                    VIRT_TYPE, block_device.strip_dev(name)):
                return 'device name %s' % name, False
        except exception.InternalError:
            pass  # A name that says nothing of the bus.
    key = 'hw_%s_bus' % device_type
    if compat.image_property(properties, key) == bus:
        return 'image property %s' % key, True
    return 'the default', False


def _place(request):
    image = _guest_image(request.image)
    originals = {uuidutils.generate_uuid(): bdm
                 for bdm in request.block_device_mappings}
    instance = _guest_instance(request.flavor)
    copies = [_driver_copy(bdm, key) for key, bdm in originals.items()]
    if request.is_new_server:
        _as_new_server(instance, image, copies, request.root_device_name)
    names = {bdm.uuid: bdm.device_name for bdm in copies}
    info = driver.get_block_device_info(instance, copies)
    mapping = blockinfo.get_disk_info(VIRT_TYPE, instance, image,
                                      info)['mapping']
    root = mapping['root']
    is_iso = (image.obj_attr_is_set('disk_format') and
              image.disk_format == 'iso')
    properties = request.image_properties
    devices = []
    placed = set()
    for driver_bdm in (info['image'] + info['ephemerals'] +
                       ([info['swap']] if info['swap'] else []) +
                       info['block_device_mapping']):
        dev = block_device.strip_dev(blockinfo.get_device_name(driver_bdm))
        boot = dev == root['dev']
        bdm = originals[driver_bdm.uuid]
        device_type, bus = driver_bdm['device_type'], driver_bdm['disk_bus']
        # blockinfo names a root mapping without a name after the instance.
        name = names[driver_bdm.uuid] or (
            instance.root_device_name if boot else None)
        # blockinfo puts an ISO's root mapping on the cdrom bus.
        source = _source(device_type, bus, None if boot and is_iso else bdm,
                         name, properties)
        devices.append(Device(device_type, bus, bdm, None, *source,
                              boot=boot))
        placed.add(dev)
    for key, name in _DEFAULT_DEVICES.items():
        device = mapping.get(key)
        if device is None or device['dev'] in placed:
            continue
        devices.append(Device(
            device['type'], device['bus'], None, name,
            *_source(device['type'], device['bus'], None, None, properties),
            boot=device['dev'] == root['dev']))
    # Volumes attached later go on the image's disk bus.
    disk_bus = blockinfo.get_disk_bus_for_device_type(
        instance, VIRT_TYPE, image, 'disk')
    devices.append(Device(
        'disk', disk_bus, None, 'volumes attached later',
        *_source('disk', disk_bus, None, None, properties), boot=False))
    return Placement(tuple(devices))


# Two checks read the placement of each request: compute it once. Entries
# live as long as the request.
_placements = weakref.WeakKeyDictionary()


def placement(request):
    """The devices of a request, as the libvirt driver will place them.

    :param request: a :class:`sev_scheduler.request.Request`.
    """
    result = _placements.get(request)
    if result is None:
        try:
            result = _place(request)
        except exception.NovaException as error:
            # What the libvirt driver raises at spawn: the guest would not
            # start (a bus KVM does not have, too many IDE devices).
            result = Placement(error=error.format_message())
        _placements[request] = result
    return result


def is_allowed(device, properties):
    """Whether memory encryption can be used with a device's bus.

    The buses Nova's AMD SEV documentation allows an encrypted guest:
    virtio, scsi with ``hw_scsi_model=virtio-scsi``, and sata. Emulated
    controllers such as IDE, USB or a floppy controller cannot work with
    encrypted guest memory.
    """
    if device.bus == fields.DiskBus.SCSI:
        return properties.get('hw_scsi_model') == fields.SCSIModel.VIRTIO_SCSI
    return device.bus in (fields.DiskBus.VIRTIO, fields.DiskBus.SATA)
