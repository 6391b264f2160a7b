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

"""What the scheduler could not stop, found after the fact.

Every server of every project is compared with what it asks for (its
flavor's extra specs as Nova shows them, its image's properties as written
in Glance now) and with what it holds in Placement. A rebuild with the
same image id after the image was edited, or an admin's forced host, runs
no filter: this is where they show.

Calls, whatever the number of servers: the server listing (one per page),
one trait listing per AMD model and one allocation listing per slot
provider (Placement), one image per distinct image (Glance); then, only
where needed, the volume attachments of an encrypted server with volumes
or of a server booted from a volume (and its boot volume, from Cinder),
the ports of an encrypted server (Nova's interface list, then each port
from Neutron),
the memory inventory of each host running an encrypted guest (and its
provider's name lookup when the guest holds no slot there), the
allocations of an encrypted server with a confidential device (and each
device provider's traits, once), and for a slot that no server holds, its
host's hypervisor and migrations in progress (Nova).

The request of each server is judged by the filter's own code
(``operators.requests``), with the volumes' buses as the compute's device
names show them, read with Nova's own ``blockinfo``.
"""

import collections
import logging
import urllib.parse

import os_resource_classes as orc

from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler.operators import capacity
from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.operators import lookup
from sev_scheduler.operators import requests

LOG = logging.getLogger(__name__)

SLOT = orc.MEM_ENCRYPTION_CONTEXT
PAGE_SIZE = 1000

# Kinds of finding, as the table and the metrics name them.
NO_SLOT = 'no-slot'
LEAKED_SLOT = 'leaked-slot'
ORPHAN_SLOT = 'orphan-slot'
MEMORY_OVERCOMMIT = 'memory-overcommit'
DEVICE = 'device'
INVALID = 'invalid-request'
KINDS = (NO_SLOT, LEAKED_SLOT, ORPHAN_SLOT, MEMORY_OVERCOMMIT, DEVICE,
         INVALID)

ACTIONS = {
    NO_SLOT: (
        'Placement does not count it, so its host can be given more '
        'encrypted guests than it has slots: recreate the server (a new '
        'server gets a slot), or undo the image or flavor change that '
        'turned encryption on and rebuild it'),
    LEAKED_SLOT: (
        'the slot is lost to encrypted servers: set the server\'s '
        'allocation again without MEM_ENCRYPTION_CONTEXT (openstack '
        'resource provider allocation set), or restore the encryption '
        'property its image or flavor lost'),
    ORPHAN_SLOT: (
        'a leaked allocation (no server, no migration in progress), for '
        'instance of a deleted server: openstack resource provider '
        'allocation delete CONSUMER'),
    MEMORY_OVERCOMMIT: (
        'its memory is locked and cannot be overcommitted: set the '
        'host\'s ram_allocation_ratio (or Placement\'s MEMORY_MB '
        'allocation_ratio) to 1.0, or cold-migrate the server to a host '
        'that does not overcommit'),
    DEVICE: (
        'this cannot work with an encrypted guest: remove the device '
        '(detach the volume, resize to a flavor without it), or recreate '
        'the server without memory encryption'),
    INVALID: (
        'the request cannot be honoured as written: correct the property '
        'named, then rebuild or recreate the server'),
}

Finding = collections.namedtuple(
    'Finding', ['server', 'name', 'host', 'model', 'kind', 'problem',
                'action'])


class Findings(list):
    """The findings of an audit, and what it checked."""

    def __init__(self, findings, servers, slots):
        super().__init__(findings)
        #: servers read, slots held in Placement
        self.servers, self.slots = servers, slots

    def summary(self):
        return 'no findings (%d server%s, %d slot%s checked)' % (
            self.servers, '' if self.servers == 1 else 's',
            self.slots, '' if self.slots == 1 else 's')


class SlotProvider(collections.namedtuple(
        'SlotProvider', ['uuid', 'root', 'host', 'model', 'consumers'])):
    """A provider of one model's slots; consumers: UUID -> slots held."""


def _servers(cloud, page_size):
    """Every server of every project, a page at a time."""
    marker = None
    while True:
        url = '/servers/detail?all_tenants=1&limit=%d' % page_size
        if marker:
            url += '&marker=%s' % marker
        page = cloud.get('compute', url)
        yield from page['servers']
        if not page['servers'] or not any(
                link.get('rel') == 'next'
                for link in page.get('servers_links', ())):
            return
        marker = page['servers'][-1]['id']


def slot_providers(cloud):
    """Every provider holding slots, with who holds them."""
    listed = []
    for model, trait in compat.KNOWN_MODEL_TRAITS.items():
        listed += [(provider, model) for provider in cloud.get(
            'placement', '/resource_providers?required=%s'
            % trait)['resource_providers']]
    # Since Nova 2025.2 a root provider whose host has child slot
    # providers holds none itself.
    parents = {provider['root_provider_uuid'] for provider, _ in listed
               if provider['uuid'] != provider['root_provider_uuid']}
    providers = []
    for provider, model in listed:
        if provider['uuid'] in parents:
            continue
        allocations = cloud.get(
            'placement', '/resource_providers/%s/allocations'
            % provider['uuid'])['allocations']
        providers.append(SlotProvider(
            provider['uuid'], provider['root_provider_uuid'],
            capacity.host_name(provider, model), model,
            {consumer: held['resources'][SLOT]
             for consumer, held in allocations.items()
             if SLOT in held['resources']}))
    return providers


class _Auditor:
    """One audit: what it read, kept for the run only."""

    def __init__(self, cloud, page_size):
        self.cloud = cloud
        self.page_size = page_size
        self.images = {}
        self.roots = {}
        self.ratios = {}
        self.provider_traits = {}

    def image(self, image_id):
        """(name, properties, disk format) of an image; None if it is gone."""
        if image_id not in self.images:
            try:
                image = self.cloud.get('image', '/v2/images/%s' % image_id)
            except sev_cloud.CloudError as error:
                if error.status != 404:
                    raise
                image = None
            self.images[image_id] = image and (
                image.get('name') or image_id,
                requests.image_properties(image), image.get('disk_format'))
        return self.images[image_id]

    def volume_image(self, boot_volume):
        """(name, properties) of the image a boot volume was made from.

        Cinder keeps the image's properties as written; Nova reads them
        from there for a server booted from a volume.
        """
        if boot_volume is None:
            raise ValueError('Nova shows no attachment at its root device')
        try:
            properties = lookup.volume_image(self.cloud, boot_volume[0])
        except sev_cloud.CloudError as error:
            # Without them its encryption cannot be read: skipped.
            raise ValueError('it boots from volume %s, whose image '
                             'properties Cinder could not give: %s'
                             % (boot_volume[0], error)) from None
        return ('volume %s' % boot_volume[0], properties, None)

    def request(self, server, volumes=(), boot_volume=None, ports=()):
        flavor = server['flavor']
        if server.get('image'):
            image = self.image(server['image']['id'])
            if image is None:
                # Its encryption and buses may have come from the image.
                raise ValueError('its image %s is gone from Glance'
                                 % server['image']['id'])
            name, properties, disk_format = image
        else:
            name, properties, disk_format = self.volume_image(boot_volume)
        return requests.build(
            flavor.get('extra_specs') or {}, properties,
            flavor_name=flavor.get('original_name') or 'flavor',
            image_name=name, volumes=volumes, boot_volume=boot_volume,
            ports=ports, disk_format=disk_format)

    def traits(self, provider):
        """The traits of a provider, as a set."""
        if provider not in self.provider_traits:
            self.provider_traits[provider] = set(self.cloud.get(
                'placement', '/resource_providers/%s/traits'
                % provider)['traits'])
        return self.provider_traits[provider]

    def memory_ratio(self, server, held):
        """MEMORY_MB's allocation ratio in Placement of the server's host."""
        node = server.get('OS-EXT-SRV-ATTR:hypervisor_hostname')
        root = next((p.root for p in held), None) or self.roots.get(node)
        if root is None:
            found = self.cloud.get(
                'placement', '/resource_providers?name=%s'
                % node)['resource_providers']
            if not found:
                return None
            root = self.roots[node] = found[0]['root_provider_uuid']
        if root not in self.ratios:
            memory = self.cloud.get(
                'placement', '/resource_providers/%s/inventories'
                % root)['inventories'].get(orc.MEMORY_MB)
            self.ratios[root] = memory and memory['allocation_ratio']
        return self.ratios[root]


#: The statuses of a server Nova is moving or rebuilding.
MOVING = ('RESIZE', 'VERIFY_RESIZE', 'MIGRATING', 'REBUILD')


def _action(server, kind):
    """What to do; nothing before Nova is done with a server it moves."""
    task = server.get('OS-EXT-STS:task_state')
    if server.get('status') not in MOVING and not task:
        return ACTIONS[kind]
    return ('Nova is moving or rebuilding it (status %s%s): confirm or '
            'revert a resize, or wait for the task to end, and audit again '
            'before acting; then: %s' % (
                server.get('status'), ', task %s' % task if task else '',
                ACTIONS[kind]))


def _finding(server, model, kind, problem):
    return Finding(server['id'], server['name'],
                   server.get('OS-EXT-SRV-ATTR:host') or '-', model or '-',
                   kind, problem, _action(server, kind))


def _judge(auditor, server, held):
    """The findings of one server; held: the SlotProviders it holds."""
    volumes = ((), None)
    if not server.get('image'):
        # Booted from a volume: its image is the boot volume's.
        volumes = lookup.server_volumes(auditor.cloud, server)
    request = auditor.request(server, *volumes)
    if request.encryption.requested:
        # What may have been attached since the boot, which no scheduler
        # saw: volumes (an IDE bus) and ports (an SR-IOV device).
        attached = bool(server.get('image') and server.get(
            'os-extended-volumes:volumes_attached'))
        if attached:
            volumes = lookup.server_volumes(auditor.cloud, server)
        ports = lookup.server_ports(auditor.cloud, server)
        if attached or ports:
            request = auditor.request(server, *volumes, ports=ports)
    encryption = request.encryption
    model = encryption.model
    findings = []
    if not encryption.requested:
        for provider in held:
            findings.append(_finding(
                server, provider.model, LEAKED_SLOT,
                'holds a%s %s slot on %s but does not ask for memory '
                'encryption' % ('n' if provider.model[0] in 'aeiou' else '',
                                provider.model, provider.host)))
        return findings
    reasons = requests.refusals(request)
    if encryption.error:
        findings.append(_finding(server, model, INVALID, reasons.pop(0)))
    findings += [_finding(server, model, DEVICE, reason)
                 for reason in reasons]
    if model is None:
        return findings
    if not reasons:
        findings += [_finding(server, model, DEVICE, problem)
                     for problem in _unconfidential_devices(
                         auditor, server, request)]
    if model not in {provider.model for provider in held}:
        others = ', '.join(sorted(p.model for p in held))
        findings.append(_finding(
            server, model, NO_SLOT,
            'asks for memory encryption (%s) but holds no %s slot%s'
            % (model, model, ' (it holds %s)' % others if others else '')))
    if (encryption.config.needs_locked_memory and
            not conf.CONF.sev_scheduler.allow_memory_overcommit):
        ratio = auditor.memory_ratio(server, held)
        # A host not found says nothing; a ratio that is not one (NaN)
        # is not known to be safe.
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            findings.append(_finding(
                server, model, MEMORY_OVERCOMMIT,
                "its host's MEMORY_MB allocation ratio in Placement is %s"
                % ratio))
    return findings


def _unconfidential_devices(auditor, server, request):
    """The PCI devices a server let through holds that are not in CC mode.

    The filter trusted Nova's query to ask for a trait of
    ``confidential_device_traits``; what the server holds in Placement
    says whether it got one (an alias changed since, a device whose trait
    was removed).
    """
    classes = {resource_class
               for _, group in requests.pci_groups(request)
               for resource_class in group.resources}
    if not classes:
        return []
    cc_traits = set(conf.CONF.sev_scheduler.confidential_device_traits)
    held = auditor.cloud.get('placement', '/allocations/%s'
                             % server['id'])['allocations']
    return ['holds %s from resource provider %s, which has no trait of '
            '[sev_scheduler] confidential_device_traits (%s)'
            % (', '.join(sorted(classes & set(used['resources']))),
               provider, ', '.join(sorted(cc_traits)) or 'none set')
            for provider, used in sorted(held.items())
            if classes & set(used['resources']) and
            not auditor.traits(provider) & cc_traits]


#: Where Nova's migrations end; any other status is a move in progress,
#: whose migration holds the source host's allocation until it is confirmed
#: or reverted (as nova.db.main.api's
#: migration_get_in_progress_by_host_and_node, which nova-manage placement
#: audit reads).
MIGRATION_ENDED = ('confirmed', 'reverted', 'error', 'failed', 'completed',
                   'cancelled', 'done')
#: The compute microversion that shows a migration's UUID, its consumer in
#: Placement.
MIGRATION_UUID_VERSION = '2.59'


def _migrations_in_progress(cloud, node):
    """The UUIDs of Nova's migrations in progress to or from a node."""
    try:
        hypervisors = cloud.get(
            'compute', '/os-hypervisors/detail?hypervisor_hostname_pattern=%s'
            % urllib.parse.quote(node))['hypervisors']
    except sev_cloud.CloudError as error:
        if error.status != 404:
            raise
        hypervisors = []  # Its compute node is gone.
    # A pattern matches by substring; the service host is what Nova's
    # migrations name, and usually the node's own name.
    hosts = {hypervisor['service']['host'] for hypervisor in hypervisors
             if hypervisor['hypervisor_hostname'] == node} or {node}
    return {migration['uuid']
            for host in sorted(hosts)
            for migration in cloud.get_all(
                'compute', '/os-migrations?host=%s' % urllib.parse.quote(host),
                'migrations', MIGRATION_UUID_VERSION)
            if migration['status'] not in MIGRATION_ENDED}


def _orphans(cloud, providers, servers):
    """Slots held by consumers that are no server, moves aside.

    A consumer that is no server is asked of Nova's migrations of its
    host: one in progress still owns the source host's allocation.
    """
    findings, moving = [], {}
    for provider in providers:
        for consumer in sorted(set(provider.consumers) - servers):
            if provider.host not in moving:
                moving[provider.host] = _migrations_in_progress(
                    cloud, provider.host)
            if consumer in moving[provider.host]:
                continue
            findings.append(Finding(
                consumer, '-', provider.host, provider.model, ORPHAN_SLOT,
                '%s slot held by consumer %s, which is no server'
                % (provider.model, consumer),
                ACTIONS[ORPHAN_SLOT].replace('CONSUMER', consumer)))
    return findings


def run(cloud, page_size=PAGE_SIZE):
    """Every finding in the cloud, sorted by host, server and kind: Findings.

    Judged with this process's ``[sev_scheduler]`` options (the checks,
    ``allow_memory_overcommit``): see ``conf.use_scheduler_conf``.

    :raises CloudError: when an API cannot be read.
    """
    providers = slot_providers(cloud)
    holders = collections.defaultdict(list)
    for provider in providers:
        for consumer in provider.consumers:
            holders[consumer].append(provider)
    auditor = _Auditor(cloud, page_size)
    findings, servers = [], set()
    for server in _servers(cloud, page_size):
        servers.add(server['id'])
        if not server.get('OS-EXT-SRV-ATTR:host'):
            continue  # Never placed, or shelved: it holds nothing.
        try:
            findings += _judge(auditor, server, holders[server['id']])
        except ValueError as error:
            LOG.warning('Server %s cannot be judged: %s', server['id'],
                        error)
    findings += _orphans(cloud, providers, servers)
    LOG.debug('Audit of %(servers)d servers and %(providers)d slot '
              'providers: API calls %(calls)s',
              {'servers': len(servers), 'providers': len(providers),
               'calls': cloud.calls})
    return Findings(sorted(findings, key=lambda f: (f.host, f.server,
                                                    f.kind)),
                    servers=len(servers),
                    slots=sum(sum(provider.consumers.values())
                              for provider in providers))
