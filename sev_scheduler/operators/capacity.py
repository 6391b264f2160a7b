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

"""Encryption slots per host and model, read from Placement.

A few calls whatever the size of the cloud: one listing of the providers
with each model's trait (the compute node's root provider, with the AMD
SEV trait, for computes before Nova 2025.2; a ``<node>_<model>`` child
provider since), and one allocation candidates query whose provider
summaries give capacity and usage of every provider in a tree with a free
slot. Only providers in a tree without any free slot are asked for their
inventory and usage one by one.

Placement holds what the computes report, whatever Nova is installed here:
every model whose trait the installed os-traits names is listed (Placement
refuses a trait it does not know), including one the local Nova does not
place yet.
"""

import collections

from sev_scheduler import capacity
from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler import confidential

MODEL_TRAITS = compat.KNOWN_MODEL_TRAITS
SLOT = capacity.SLOT

Slots = collections.namedtuple('Slots', ['host', 'model', 'total', 'used'])


def host_name(provider, model):
    """The compute node a provider with slots of a model belongs to."""
    # Nova names slot providers '<nodename>_<model>' (amd_sev, ...).
    suffix = '_' + model.replace('-', '_')
    name = provider['name']
    if provider['uuid'] != provider['root_provider_uuid'] and (
            name.endswith(suffix)):
        return name[:-len(suffix)]
    return name


def _capacity(inventory):
    return int((inventory['total'] - inventory['reserved']) *
               inventory['allocation_ratio'])


def read(cloud):
    """[Slots] for every provider holding slots, by host and model.

    :param cloud: an ``operators.cloud.Cloud``.
    :raises CloudError: when Placement cannot be read.
    """
    providers = []
    for model, trait in MODEL_TRAITS.items():
        listing = cloud.get('placement',
                            '/resource_providers?required=%s' % trait)
        providers += [(provider, model)
                      for provider in listing['resource_providers']]
    if not providers:
        return []
    summaries = cloud.get(
        'placement', '/allocation_candidates?resources=%s:1'
        % SLOT)['provider_summaries']
    slots = []
    for provider, model in providers:
        summary = summaries.get(provider['uuid'], {}).get('resources', {})
        if SLOT in summary:
            total, used = summary[SLOT]['capacity'], summary[SLOT]['used']
        else:
            # Its tree has no free slot of any model, or it has no slots.
            inventory = cloud.get(
                'placement', '/resource_providers/%s/inventories'
                % provider['uuid'])['inventories']
            if SLOT not in inventory:
                continue
            total = _capacity(inventory[SLOT])
            used = cloud.get(
                'placement', '/resource_providers/%s/usages'
                % provider['uuid'])['usages'].get(SLOT, 0)
        slots.append(Slots(host_name(provider, model), model, total, used))
    return sorted(slots)


def device_listing(resources, traits):
    """The providers with free ``resources`` ({class: amount}) and ``traits``.

    As Nova's query asks for a PCI device of an alias, in one group.
    """
    return '/resource_providers?resources=%s%s' % (
        ','.join('%s:%d' % item for item in sorted(resources.items())),
        '&required=%s' % ','.join(sorted(traits)) if traits else '')


def confidential_devices(cloud):
    """{host: devices in CC mode free}, of every host with SEV-SNP slots.

    Devices of the aliases of ``snp_pci_aliases`` that are safe (each
    requires a trait of ``confidential_device_traits``, with PCI in
    Placement: ``confidential.alias_problem``), as Nova's query would ask
    for them: one listing per alias spec, and one of the SEV-SNP slot
    providers. {} when no alias is safe. A device is a provider with one
    free: GPUs in CC mode are whole devices, one provider each.
    """
    aliases, error = confidential.nova_aliases()
    options = conf.CONF.sev_scheduler
    pci_in_placement = conf.CONF.filter_scheduler.pci_in_placement
    listings = {
        device_listing({confidential.resource_class(spec): 1},
                       confidential.required_traits(spec))
        for name in confidential.allowed_aliases()
        if not confidential.alias_problem(
            name, aliases, error, options.confidential_device_traits,
            pci_in_placement)
        for spec in aliases[name][1]}
    if not listings:
        return {}
    hosts = {provider['root_provider_uuid']: host_name(provider,
                                                       confidential.MODEL)
             for provider in cloud.get(
                 'placement', '/resource_providers?required=%s'
                 % MODEL_TRAITS[confidential.MODEL])['resource_providers']}
    free = collections.defaultdict(set)
    for listing in sorted(listings):
        for provider in cloud.get('placement',
                                  listing)['resource_providers']:
            root = provider['root_provider_uuid']
            if root in hosts:
                free[hosts[root]].add(provider['uuid'])
    return {host: len(free[host]) for host in hosts.values()}


def totals(slots):
    """[Slots] per model for the whole cloud, host '(cloud)'."""
    by_model = collections.defaultdict(lambda: [0, 0])
    for row in slots:
        by_model[row.model][0] += row.total
        by_model[row.model][1] += row.used
    return [Slots('(cloud)', model, total, used)
            for model, (total, used) in sorted(by_model.items())]
