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

"""Real Nova objects for the unit tests: flavors, images, specs, hosts."""

import os_resource_classes as orc
from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import objects
from nova.scheduler import host_manager
from nova.scheduler import utils as scheduler_utils
from nova import utils

objects.register_all()

# What Nova itself requires of an encrypted guest's image.
UEFI = {'hw_firmware_type': 'uefi'}
SNP = {'hw_firmware_type': 'uefi', 'hw_firmware_stateless': True}
SEV_FLAVOR = {'hw:mem_encryption': 'true'}


def flavor(extra_specs=None, name='m1.small'):
    return objects.Flavor(
        name=name, flavorid=name, memory_mb=512, vcpus=1, root_gb=1,
        ephemeral_gb=0, swap=0, extra_specs=dict(extra_specs or {}))


def image(**properties):
    return objects.ImageMeta.from_dict(
        {'id': uuids.image, 'name': 'cirros', 'properties': properties})


def spec(extra_specs=None, image_properties=None, pci_requests=(),
         rebuild=False, instance_uuid=uuids.instance, context=None,
         **fields):
    hints = {'_nova_check_type': ['rebuild']} if rebuild else {}
    spec_obj = objects.RequestSpec(
        context=context or nova_context.get_admin_context(),
        instance_uuid=instance_uuid,
        flavor=flavor(extra_specs),
        image=image(**(image_properties or {})),
        pci_requests=objects.InstancePCIRequests(
            requests=list(pci_requests)),
        scheduler_hints=hints,
        num_instances=1,
        **fields)
    return spec_obj


def encrypted_spec(model=None, image_properties=None, **kwargs):
    """A request asking for memory encryption in the flavor."""
    extra_specs = dict(SEV_FLAVOR, **kwargs.pop('extra_specs', {}))
    props = dict(SNP if model == 'amd-sev-snp' else UEFI)
    props.update(image_properties or {})
    if model:
        extra_specs['hw:mem_encryption_model'] = model
    return spec(extra_specs=extra_specs, image_properties=props, **kwargs)


def confidential_gpu_options(set_options, trait='nvidia_cc_on'):
    """Options of a scheduler offering GPUs in CC mode to SNP guests.

    The alias 'cc-gpu' requires ``trait`` (Nova normalises it to
    ``CUSTOM_<TRAIT>``), with PCI in Placement on.

    :param set_options: ``self.flags``, or a Config fixture's ``config``.
    """
    set_options(alias=['{"name": "cc-gpu", "vendor_id": "10de", '
                       '"product_id": "2331", "traits": "%s"}' % trait],
                group='pci')
    set_options(pci_in_placement=True, group='filter_scheduler')
    set_options(snp_pci_aliases=['cc-gpu'],
                confidential_device_traits=['CUSTOM_' + trait.upper()],
                group='sev_scheduler')


def candidate(root_uuid, slot_uuid=None):
    """An allocation candidate as Nova holds it, from Placement.

    :param slot_uuid: the provider of the MEM_ENCRYPTION_CONTEXT slot: the
        root (layout before Nova 2025.2), a child provider, or None for a
        candidate without a slot.
    """
    allocations = {root_uuid: {'resources': {
        orc.VCPU: 1, orc.MEMORY_MB: 512, orc.DISK_GB: 1}}}
    if slot_uuid is not None:
        allocations.setdefault(slot_uuid, {'resources': {}})
        allocations[slot_uuid]['resources'][orc.MEM_ENCRYPTION_CONTEXT] = 1
    return {'allocations': allocations,
            'mappings': {'': sorted(allocations)}}


def host(name, uuid, candidates=(), ram_allocation_ratio=1.0):
    host_state = host_manager.HostState(name, name, uuids.cell)
    host_state.uuid = uuid
    host_state.ram_allocation_ratio = ram_allocation_ratio
    host_state.allocation_candidates = list(candidates)
    return host_state


def sev_host(name, layout='child', **kwargs):
    """A host whose candidates carry a slot, in either Placement layout."""
    root = getattr(uuids, name)
    slot = root if layout == 'root' else getattr(uuids, name + '_amd_sev')
    return host(name, root, [candidate(root, slot)], **kwargs)


def plain_host(name, **kwargs):
    root = getattr(uuids, name)
    return host(name, root, [candidate(root)], **kwargs)


def _allocates_slot(candidate):
    allocations = candidate.get('allocations') if candidate else None
    return isinstance(allocations, dict) and any(
        (allocation or {}).get('resources', {}).get(
            orc.MEM_ENCRYPTION_CONTEXT, 0) > 0
        for allocation in allocations.values())


def nova_query(spec_obj):
    """The ResourceRequest Nova sends Placement for a RequestSpec.

    None for a rebuild, which asks Placement nothing, and for a request
    Nova cannot turn into a query (it fails before any filter runs).
    """
    if scheduler_utils.request_is_rebuild(spec_obj):
        return None
    try:
        return scheduler_utils.ResourceRequest.from_request_spec(spec_obj)
    except Exception:
        return None


def as_nova_hands_them(spec_obj, hosts):
    """The hosts as nova-scheduler gives them to the filters.

    Nova asks Placement with the ResourceRequest it builds from the
    RequestSpec: where that asks for a memory encryption slot, Placement
    returns only candidates allocating one, and a host left without any
    candidate is not among the hosts at all. A rebuild asks Placement
    nothing. A request Nova cannot turn into a query never reaches the
    filters; the hosts are given as they are then, for the filter's own
    refusal.
    """
    query = nova_query(spec_obj)
    if query is None or (orc.MEM_ENCRYPTION_CONTEXT not in
                         query.merged_resources()):
        return list(hosts)
    handed = []
    for host_state in hosts:
        host_state.allocation_candidates = [
            candidate for candidate in host_state.allocation_candidates
            if _allocates_slot(candidate)]
        if host_state.allocation_candidates:
            handed.append(host_state)
    return handed


def volume_bdm(context, instance_uuid, disk_bus=None, boot_index=0,
               volume_id=None):
    return objects.BlockDeviceMapping(
        context=context, instance_uuid=instance_uuid, source_type='volume',
        destination_type='volume', device_type='disk',
        volume_id=volume_id or uuids.volume, disk_bus=disk_bus,
        boot_index=boot_index)


def build_request(context, instance_uuid=uuids.instance, bdms=(),
                  image_properties=None, root_device_name=None):
    """A new server's BuildRequest in the API database, as the API saves it.

    :param image_properties: the image's properties as the user wrote them,
        which the API keeps in the instance's system metadata.
    :param root_device_name: the instance's, which the API takes from the
        image's properties.
    """
    instance_flavor = flavor()
    instance = objects.Instance(
        context=context, uuid=instance_uuid, project_id='project',
        user_id='user', flavor=instance_flavor,
        root_device_name=root_device_name,
        system_metadata=utils.get_system_metadata_from_image(
            {'properties': dict(image_properties or {})}, instance_flavor))
    request = objects.BuildRequest(
        context=context, instance_uuid=instance_uuid, project_id='project',
        instance=instance, tags=objects.TagList(),
        block_device_mappings=objects.BlockDeviceMappingList(
            objects=list(bdms)))
    request.create()
    return request


class Clock:
    """A monotonic clock the test moves, for ``capacity.Cache``."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now
