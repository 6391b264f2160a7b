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

"""Which hosts can take one more guest of a memory encryption model."""

import os_resource_classes as orc
import os_traits

from nova.scheduler.client import report

# Before Nova 2025.2 slots were on the root provider and AMD SEV was the
# only model.
ROOT_PROVIDER_TRAIT = os_traits.HW_CPU_X86_AMD_SEV


def carries_slot(candidate):
    """Whether an allocation candidate allocates a memory encryption slot.

    Nova asked Placement for the model's trait along with the slot, so a
    candidate carrying the slot has one of the requested model, whichever
    provider holds it: the compute node's root provider before Nova 2025.2,
    a child provider per model since.
    """
    return any(orc.MEM_ENCRYPTION_CONTEXT in allocation['resources']
               for allocation in candidate['allocations'].values())


def instance_holds_slot(context, instance_uuid, root_uuids, config):
    """Whether an instance holds a slot of the model, asking Placement.

    For a rebuild, where Nova fetches no allocation candidates. A slot on a
    compute node's root provider is the layout before Nova 2025.2, which
    knew AMD SEV alone; a slot on a child provider is of the model whose
    trait the provider has.

    :param root_uuids: the compute node (root provider) UUIDs of the hosts
        considered.
    :param config: the requested model's ``MemEncryptionConfig``.
    :raises: keystoneauth1 or nova exceptions when Placement fails.
    """
    client = report.report_client_singleton()
    allocations = client.get_allocs_for_consumer(
        context, instance_uuid)['allocations']
    for rp_uuid, allocation in allocations.items():
        if orc.MEM_ENCRYPTION_CONTEXT not in allocation['resources']:
            continue
        if rp_uuid in root_uuids:
            return config.required_trait == ROOT_PROVIDER_TRAIT
        traits = client.get_provider_traits(context, rp_uuid).traits
        return config.required_trait in traits
    return False
